"""Which maintenance windows a reporting period shows: one-off and recurring windows against a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from netmon.monitor.maintenance import Window

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


ONE_OFF = Window(
    name="w", objects=("device:a",), starts_at=_local("2026-03-10 08:00"), ends_at=_local("2026-03-10 12:00")
)
DAILY = Window(name="d", objects=("device:a",), every="daily", at="23:00", duration=7200)
WEEKLY = Window(name="s", objects=("device:a",), every="weekly", days=("sun",), at="02:00", duration=3600)


@pytest.mark.parametrize(
    ("window", "start", "end", "overlaps"),
    [
        pytest.param(ONE_OFF, "2026-03-01 00:00", "2026-04-01 00:00", True, id="one-off-inside"),
        pytest.param(ONE_OFF, "2026-03-10 11:59", "2026-03-10 13:00", True, id="one-off-tail"),
        pytest.param(ONE_OFF, "2026-03-10 12:00", "2026-03-11 00:00", False, id="one-off-ends-at-start"),
        pytest.param(ONE_OFF, "2026-03-09 00:00", "2026-03-10 08:00", False, id="one-off-begins-at-end"),
        pytest.param(DAILY, "2026-03-10 00:30", "2026-03-10 01:30", True, id="daily-spills-past-midnight"),
        pytest.param(DAILY, "2026-03-10 01:00", "2026-03-10 01:30", False, id="daily-ended-at-01"),
        pytest.param(DAILY, "2026-03-10 02:00", "2026-03-10 22:00", False, id="daily-gap"),
        pytest.param(WEEKLY, "2026-03-08 02:30", "2026-03-08 02:31", True, id="weekly-on-sunday"),  # a Sunday
        pytest.param(WEEKLY, "2026-03-09 00:00", "2026-03-14 23:59", False, id="weekly-mon-to-sat"),
        pytest.param(WEEKLY, "2026-01-01 00:00", "2027-01-01 00:00", True, id="weekly-in-a-year"),
    ],
)
def test_a_window_overlaps_a_period(window: Window, start: str, end: str, overlaps: bool) -> None:
    assert window.overlaps(_local(start), _local(end), ZONE) is overlaps


def test_an_incomplete_recurring_window_overlaps_nothing() -> None:
    broken = Window(name="x", objects=("device:a",), every="daily")
    start = _local("2026-03-01 00:00")
    assert not broken.overlaps(start, start + timedelta(days=31), ZONE)
