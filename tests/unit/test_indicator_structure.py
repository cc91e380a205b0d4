"""The structure in force, period splitting, count fallback and points per year; pure, no database (issue 16)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.config import INDICATOR_RULES
from netmon.indicators.compute import period_rows
from netmon.indicators.definitions import Definition, load_catalog
from netmon.indicators.period import parse_period
from netmon.indicators.structure import in_force, split
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog(rules=INDICATOR_RULES)
REFORM = date(2025, 7, 1)


def _merge() -> Inventory:
    units = {
        "P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE),
        "A": UnitSpec(code="A", name="Xã A", level=Level.COMMUNE, parent="P", valid_to=REFORM, successor="N"),
        "B": UnitSpec(code="B", name="Xã B", level=Level.COMMUNE, parent="P", valid_to=REFORM, successor="N"),
        "N": UnitSpec(code="N", name="Xã N", level=Level.COMMUNE, parent="P", valid_from=REFORM),
        "H": UnitSpec(code="H", name="Huyện", level=Level.DISTRICT, parent="P", valid_to=REFORM),
    }
    devices = {
        "a-r1": DeviceSpec(name="a-r1", unit="A", role=Role.ROUTER, address="127.31.0.1"),
        "n-r1": DeviceSpec(
            name="n-r1", unit="N", role=Role.ROUTER, address="127.31.0.2", previous_unit="B", moved_on=REFORM
        ),
        "h-r1": DeviceSpec(name="h-r1", unit="H", role=Role.ROUTER, address="127.31.0.3"),
    }
    links = {"a-inet": LinkSpec(name="a-inet", kind=LinkKind.INTERNET, unit="A")}
    return Inventory(units=units, devices=devices, links=links)


@pytest.mark.parametrize(
    ("day", "units", "homes"),
    [
        pytest.param(
            date(2025, 6, 30),
            {"P", "A", "B", "H"},
            {"a-r1": "A", "n-r1": "B", "h-r1": "H", "a-inet": "A"},
            id="the-day-before",
        ),
        pytest.param(REFORM, {"P", "N"}, {"a-r1": "N", "n-r1": "N", "a-inet": "N"}, id="the-day-of-the-merge"),
        pytest.param(date(2026, 1, 1), {"P", "N"}, {"a-r1": "N", "n-r1": "N", "a-inet": "N"}, id="later-rolls-up"),
    ],
)
def test_the_structure_in_force(day: date, units: set[str], homes: dict[str, str]) -> None:
    structure = in_force(_merge(), day)
    assert set(structure.units) == units
    found = {name: d.unit for name, d in structure.devices.items()}
    found.update({name: x.unit for name, x in structure.links.items()})
    assert found == homes  # h-r1 is left out from 2025-07-01: its district has no successor


def test_a_year_is_split_at_the_reform_and_a_quarter_is_not() -> None:
    now = datetime(2026, 1, 15, tzinfo=UTC)
    year = split(parse_period("2025", ZONE, now), _merge())
    assert [(p.label, p.first_day, p.last_day) for p in year] == [
        ("2025-01-01..2025-06-30", date(2025, 1, 1), date(2025, 6, 30)),
        ("2025-07-01..2025-12-31", REFORM, date(2025, 12, 31)),
    ]
    assert year[0].end == year[1].start == datetime(2025, 6, 30, 17, tzinfo=UTC)  # local midnight, +07:00
    for quarter in ("2025-Q2", "2025-Q3"):
        (whole,) = split(parse_period(quarter, ZONE, now), _merge())
        assert whole.label == ""


@given(st.lists(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)), max_size=6))
def test_parts_cover_the_period_without_gaps(days: list[date]) -> None:
    units = {"P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)}
    for index, day in enumerate(days):
        units[f"U{index}"] = UnitSpec(code=f"U{index}", name="Xã", level=Level.COMMUNE, parent="P", valid_from=day)
    period = parse_period("2025", ZONE, datetime(2026, 2, 1, tzinfo=UTC))
    parts = split(period, Inventory(units=units, devices={}, links={}))
    assert parts[0].start == period.start
    assert parts[-1].end == period.end
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start
        assert before.last_day + timedelta(days=1) == after.first_day
    inside = {d for d in days if date(2025, 1, 1) < d <= date(2025, 12, 31)}
    assert len(parts) == len(inside) + 1


def _servers(declared: int | None) -> Inventory:
    units = {"P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE, servers=declared)}
    devices = {
        f"srv{i}": DeviceSpec(name=f"srv{i}", unit="P", role=Role.SERVER, address=f"127.31.1.{i}") for i in range(1, 33)
    }
    return Inventory(units=units, devices=devices, links={})


@pytest.mark.parametrize(
    ("declared", "count", "first_evidence"),
    [
        pytest.param(None, 32, "device:srv1 (server) — no declared servers: counted from the inventory", id="fallback"),
        pytest.param(3, 3, "unit:P servers=3", id="declared-wins"),
        pytest.param(0, 0, "unit:P servers=0", id="declared-zero-is-a-declaration"),
    ],
)
def test_servers_count_declared_else_devices(declared: int | None, count: int, first_evidence: str | None) -> None:
    period = parse_period("2026-10", ZONE, datetime(2026, 11, 10, tzinfo=UTC))
    rows = period_rows(_servers(declared), {}, CATALOG, period)
    row = next(r for r in rows if r.indicator == "servers" and r.unit == "P")
    assert row.a == count
    assert (row.evidence_a[0] if row.evidence_a else None) == first_evidence


def test_points_follow_the_year_of_the_period() -> None:
    base = next(d for d in CATALOG if d.id == "internet_units")
    definition = Definition.model_validate({**base.model_dump(), "points": {2025: 8.0}})
    assert (definition.max_points_in(2025), definition.max_points_in(2026)) == (8.0, 10.0)
    inventory = Inventory(units={"P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)}, devices={}, links={})
    catalog = type(CATALOG)((definition,), CATALOG.rules)
    now = datetime(2026, 11, 10, tzinfo=UTC)
    rows_2025 = period_rows(inventory, {}, catalog, parse_period("2025", ZONE, now))
    rows_2026 = period_rows(inventory, {}, catalog, parse_period("2026-Q1", ZONE, now))
    assert {r.max_points for r in rows_2025} == {8.0}
    assert {r.max_points for r in rows_2026} == {10.0}
