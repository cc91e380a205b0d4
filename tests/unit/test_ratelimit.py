"""Per-source token buckets, with explicit instants (no clock)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.pollers.ratelimit import TokenBuckets


@pytest.mark.parametrize(
    ("rate", "burst", "instants", "expected"),
    [
        pytest.param(1.0, 3, [0, 0, 0, 0], [True, True, True, False], id="burst-then-refused"),
        pytest.param(1.0, 3, [0, 0, 0, 0, 1.0], [True, True, True, False, True], id="one-token-a-second"),
        pytest.param(2.0, 1, [0, 0.25, 0.5, 0.5], [True, False, True, False], id="half-second-refill"),
        pytest.param(1.0, 2, [0, 0, 100, 100, 100], [True, True, True, True, False], id="refill-capped-at-burst"),
        pytest.param(1.0, 1, [5, 4, 5], [True, False, False], id="clock-going-back-adds-nothing"),
    ],
)
def test_buckets(rate: float, burst: int, instants: list[float], expected: list[bool]) -> None:
    buckets = TokenBuckets(rate, burst)
    assert [buckets.allow("s", t) for t in instants] == expected


def test_sources_have_their_own_buckets_and_old_ones_are_forgotten() -> None:
    buckets = TokenBuckets(0.001, 1, max_keys=2)
    assert buckets.allow("a", 0)
    assert not buckets.allow("a", 0)
    assert buckets.allow("b", 0)  # a flood from a does not touch b
    assert buckets.allow("c", 0)  # a is forgotten now (max_keys=2) ...
    assert buckets.allow("a", 0)  # ... and starts again full


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)], ids=["zero-rate", "negative-rate", "no-burst"])
def test_bad_parameters_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBuckets(rate, burst)


@given(st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=200), st.integers(1, 20))
def test_never_more_than_burst_plus_refill(steps: list[float], burst: int) -> None:
    rate, buckets, now, allowed = 0.5, TokenBuckets(0.5, burst), 0.0, 0
    for step in sorted(steps):
        now = step
        allowed += buckets.allow("s", now)
    assert allowed <= burst + rate * now + 1e-9
