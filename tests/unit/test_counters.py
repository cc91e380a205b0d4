"""Counter arithmetic: wraps, restarts, uptime wraps and ifIndex renumbering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netmon.kernel import Status
from netmon.pollers.counters import (
    UPTIME_WRAP,
    CounterReading,
    InterfaceCounters,
    RateMemory,
    counter_delta,
    interface_counters,
    rate,
)
from netmon.pollers.samples import InterfaceRow, InterfacesSample

W32, W64 = 2**32, 2**64


@pytest.mark.parametrize(
    ("previous", "current", "bits", "expected"),
    [
        pytest.param(100, 250, 32, 150, id="plain"),
        pytest.param(5, 5, 64, 0, id="idle"),
        pytest.param(W32 - 100, 50, 32, 150, id="32-bit-wrap"),
        pytest.param(W64 - 1, 0, 64, 1, id="64-bit-wrap"),
        pytest.param(W64 - 10, 2**40, 64, 2**40 + 10, id="64-bit-wrap-large"),
    ],
)
def test_counter_delta(previous: int, current: int, bits: int, expected: int) -> None:
    assert counter_delta(previous, current, bits) == expected


def _r(value: int, uptime: int, wall: float, bits: int = 64) -> CounterReading:
    return CounterReading(value=value, bits=bits, uptime=uptime, wall=wall)


@pytest.mark.parametrize(
    ("previous", "current", "ceiling", "expected"),
    [
        pytest.param(_r(0, 1000, 0.0), _r(6000, 7000, 60.0), None, 100.0, id="60s-at-100/s"),
        pytest.param(_r(W32 - 3000, 1000, 0.0, 32), _r(3000, 7000, 60.0, 32), None, 100.0, id="32-bit-wrap"),
        pytest.param(_r(W64 - 3000, 1000, 0.0), _r(3000, 7000, 60.0), None, 100.0, id="64-bit-wrap"),
        pytest.param(_r(10**9, 500_000, 0.0), _r(10, 3000, 60.0), None, None, id="agent-restart-no-spike"),
        pytest.param(
            _r(0, UPTIME_WRAP - 3000, 0.0), _r(6000, 3000, 60.0), None, 100.0, id="uptime-wrap-after-497-days"
        ),
        pytest.param(_r(0, 1000, 0.0), _r(0, 1000, 0.0), None, None, id="zero-interval"),
        pytest.param(_r(0, 1000, 0.0, 32), _r(10, 7000, 60.0, 64), None, None, id="width-changed"),
        pytest.param(_r(0, 1000, 0.0), _r(10**12, 7000, 60.0), 1.25e8, None, id="above-line-rate-is-a-reset"),
        pytest.param(_r(0, 1000, 0.0), _r(6 * 10**9, 7000, 60.0), 1.25e8, 1e8, id="below-line-rate"),
        pytest.param(_r(10**12, 1000, 0.0), _r(5000, 7000, 60.0), None, None, id="64-bit-fall-is-a-reset"),
        pytest.param(_r(10**12, 1000, 0.0), _r(10**12 - 1, 7000, 60.0), None, None, id="64-bit-fall-by-one"),
        pytest.param(_r(2**63 - 1, 1000, 0.0), _r(0, 7000, 60.0), None, None, id="64-bit-wrap-over-2^63-is-too-much"),
    ],
)
def test_rate(previous: CounterReading, current: CounterReading, ceiling: float | None, expected: float | None) -> None:
    assert rate(previous, current, ceiling=ceiling) == expected


def _poll(memory: RateMemory, uptime: int, octets_by_name: dict[str, int]):
    interfaces = [
        InterfaceCounters(name=name, bits=64, values={"in_octets": octets}, speed_bps=10**9)
        for name, octets in octets_by_name.items()
    ]
    return memory.update("r1", uptime, uptime / 100, interfaces)


def _row(if_index: int, name: str, in_octets: int) -> InterfaceRow:
    return InterfaceRow(if_index=if_index, name=name, speed_bps=10**9, in_octets=in_octets, out_octets=0)


def test_ifindex_renumbering_keeps_the_history() -> None:
    memory = RateMemory()
    before = [_row(1, "ge-0/0/0", 0), _row(2, "ge-0/0/1", 600)]
    memory.update("r1", 1000, 10.0, interface_counters(before))
    # After a reload the agent gives the same ports other ifIndexes, in another order.
    after = [_row(7, "ge-0/0/1", 12600), _row(8, "ge-0/0/0", 6000)]
    rates = memory.update("r1", 7000, 70.0, interface_counters(after))
    assert rates == {
        "ge-0/0/1": {"in_octets": 200.0, "out_octets": 0.0},
        "ge-0/0/0": {"in_octets": 100.0, "out_octets": 0.0},
    }


def test_duplicate_names_are_told_apart_by_ifindex() -> None:
    rows = [_row(1, "ifIndex:1", 0), _row(2, "eth0", 0), _row(3, "eth0", 0), _row(4, "eth1", 0)]
    assert [c.name for c in interface_counters(rows)] == ["ifIndex:1", "eth0#2", "eth0#3", "eth1"]


def test_samples_round_trip_through_dicts() -> None:
    sample = InterfacesSample(
        device="r1",
        ts=datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
        status=Status.OK,
        duration=0.01,
        sys_uptime=12345,
        interfaces=(_row(1, "ge-0/0/0", 5), _row(2, "ge-0/0/1", 6)),
    )
    data = sample.to_dict()
    assert data["status"] == "ok"
    assert data["interfaces"][1]["name"] == "ge-0/0/1"
    assert InterfacesSample.from_dict(data) == sample


def test_restart_gives_no_rate_then_rates_resume() -> None:
    memory = RateMemory()
    _poll(memory, 500_000, {"eth0": 10**9})
    assert _poll(memory, 3000, {"eth0": 10}) == {"eth0": {"in_octets": None}}
    assert _poll(memory, 9000, {"eth0": 6010}) == {"eth0": {"in_octets": 100.0}}


def test_forget_drops_a_device() -> None:
    memory = RateMemory()
    _poll(memory, 1000, {"eth0": 0})
    memory.forget("r1")
    assert _poll(memory, 7000, {"eth0": 6000}) == {"eth0": {"in_octets": None}}
