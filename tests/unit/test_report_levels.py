"""Which level's report an outage belongs to: its object's unit in the period, moves included."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

import pytest

from netmon.indicators.report_data import _level_of
from netmon.inventory.kinds import Level
from netmon.inventory.spec import DeviceSpec, Inventory, UnitSpec
from netmon.monitor.outages import OutageRecord

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
REFORM = date(2025, 7, 1)
INVENTORY = Inventory(
    units={
        "P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE),
        "D": UnitSpec(code="D", name="Huyện", level=Level.DISTRICT, parent="P", valid_to=REFORM),
        "C": UnitSpec(code="C", name="Phường", level=Level.COMMUNE, parent="P", valid_from=REFORM),
    },
    devices={
        "r": DeviceSpec(name="r", unit="C", role="router", address="127.0.0.5", previous_unit="D", moved_on=REFORM),
    },
    links={},
)
# down from 23:00 local on 2025-06-30 (the district's last day) to 2025-07-05
OUTAGE = OutageRecord(
    id=1,
    kind="device",
    name="r",
    cause="down",
    root_cause=None,
    started_at=datetime(2025, 6, 30, 16, tzinfo=UTC),
    ended_at=datetime(2025, 7, 5, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("since", "level"),
    [
        pytest.param(datetime(2025, 6, 30, 17, tzinfo=UTC), Level.COMMUNE, id="2025-Q3-the-commune-s"),
        pytest.param(datetime(2025, 3, 31, 17, tzinfo=UTC), Level.DISTRICT, id="2025-Q2-the-district-s"),
    ],
)
def test_an_outage_across_a_move_counts_for_the_unit_in_the_period(since: datetime, level: Level) -> None:
    """A 2025-Q3 report with --level district showed this outage (103 h), though no district is in force then."""
    assert _level_of(OUTAGE, INVENTORY, ZONE, since=since) is level
