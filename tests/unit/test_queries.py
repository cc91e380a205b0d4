"""The one outage filter that the API and the CLI share (netmon.api.queries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from netmon.api.queries import outage_json, select_outages
from netmon.monitor.outages import OutageRecord

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
RECORDS = [
    OutageRecord(id=1, kind="link", name="h01-wan", cause="down", root_cause=None, started_at=T0, ended_at=None),
    OutageRecord(
        id=2,
        kind="device",
        name="x01-r1",
        cause="unreachable",
        root_cause="h01-wan",
        started_at=T0,
        ended_at=T0 + timedelta(minutes=5),
    ),
    OutageRecord(id=3, kind="device", name="ghost", cause="down", root_cause=None, started_at=T0, ended_at=None),
]
UNIT_OF = {("link", "h01-wan"): "H01", ("device", "x01-r1"): "X01"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({}, [(1, "H01"), (2, "X01"), (3, None)], id="all"),
        pytest.param({"units": {"X01"}}, [(2, "X01")], id="unit"),
        pytest.param({"cause": "down"}, [(1, "H01"), (3, None)], id="cause"),
        pytest.param({"kind": "device", "cause": "down"}, [(3, None)], id="kind-and-cause"),
        pytest.param({"units": set()}, [], id="no-units"),
    ],
)
def test_select_outages(filters: dict[str, object], expected: list[tuple[int, str | None]]) -> None:
    chosen = select_outages(RECORDS, UNIT_OF, **filters)  # type: ignore[arg-type]
    assert [(record.id, unit) for record, unit in chosen] == expected


def test_outage_json_has_the_unit_and_duration() -> None:
    row = outage_json(RECORDS[1], "X01")
    assert (row["unit"], row["duration_seconds"], row["id"]) == ("X01", 300.0, 2)
    assert outage_json(RECORDS[0], "H01")["duration_seconds"] is None
