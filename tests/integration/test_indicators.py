"""Indicators over the fixture province, live and for October 2026, on SQLite and PostgreSQL.

Every expected a, b and ratio below is computed by hand from the province described in
tests/integration/indicator_province.py (D = one day in seconds). n/a: b = 0, no ratio.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from netmon.config import INDICATOR_RULES
from netmon.indicators.compute import compute, live_rows
from netmon.indicators.definitions import load_catalog
from netmon.indicators.row import IndicatorRow
from netmon.inventory.models import Level
from netmon.inventory.store import Store
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition
from tests.integration.indicator_province import DAY as D
from tests.integration.indicator_province import NOW, load_province, parsed_province, province

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog(rules=INDICATOR_RULES)
LEVELS = ("province", "department", "district", "commune", "all")
NA = None

Expected = dict[str, tuple[float, float | None, float | None]]

#: October 2026: indicator -> level -> (a, b, ratio)
OCTOBER: dict[str, Expected] = {
    # P: p-lan declared; D1: d1-sw1 up 100 %; D2: d2-lan declared; H1: h1-r1 up 30/30 days; W1: nothing
    "lan_units": {"province": (1, 1, 1.0), "department": (2, 2, 1.0), "district": (1, 1, 1.0),
                  "commune": (0, 1, 0.0), "all": (4, 5, 4 / 5)},
    # P: p-inet 29/31 = 93.5 % >= 90 %; D1: d1-inet 100 %; H1: h1-inet has no history: no data, not 0 %,
    # left out of b (issue 16); W1 has no internet link at all: 0 of 1
    "internet_units": {"province": (1, 1, 1.0), "department": (1, 2, 0.5), "district": (0, 0, NA),
                       "commune": (0, 1, 0.0), "all": (2, 4, 2 / 4)},
    # D1: d1-wan; H1: h1-man (man counts as WAN/MAN)
    "wan_units": {"province": (0, 1, 0.0), "department": (1, 2, 0.5), "district": (1, 1, 1.0),
                  "commune": (0, 1, 0.0), "all": (2, 5, 2 / 5)},
    # P: p-tslcd 27/31 = 87.1 % < 90 %
    "tslcd_units": {"province": (0, 1, 0.0), "department": (0, 2, 0.0), "district": (0, 1, 0.0),
                    "commune": (0, 1, 0.0), "all": (0, 5, 0.0)},
    "vc_endpoints": {"province": (1, NA, NA), "department": (1, NA, NA), "district": (1, NA, NA),
                     "commune": (0, NA, NA), "all": (3, NA, NA)},
    # P: p-vc1 11/31 = 35 % < 50 %; H1: h1-vc1 16/31 = 51.6 % >= 50 %
    "vc_units": {"province": (0, 1, 0.0), "department": (0, 2, 0.0), "district": (1, 1, 1.0),
                 "commune": (0, 1, 0.0), "all": (1, 5, 1 / 5)},
    # computers / staff: 12/10; (15+0)/(20+5); 8/8; W1 3 computers, no staff: n/a
    "computers_per_staff": {"province": (12, 10, 1.2), "department": (15, 25, 0.6), "district": (8, 8, 1.0),
                            "commune": (3, 0, NA), "all": (38, 43, 38 / 43)},
    # min(computers, staff) / staff: min(12,10)=10; min(15,20)+0; 8; W1 capped at no staff = 0
    "staff_with_computer": {"province": (10, 10, 1.0), "department": (15, 25, 0.6), "district": (8, 8, 1.0),
                            "commune": (0, 0, NA), "all": (33, 43, 33 / 43)},
    # internet Mbps / staff: 100/10; 50/25; 30/8; 0/0
    "internet_mbps_per_staff": {"province": (100, 10, 10.0), "department": (50, 25, 2.0),
                                "district": (30, 8, 3.75), "commune": (0, 0, NA), "all": (180, 43, 180 / 43)},
    "servers": {"province": (2, NA, NA), "department": (1, NA, NA), "district": (0, NA, NA),
                "commune": (0, NA, NA), "all": (3, NA, NA)},
    # p-lan up all month; d2-lan no history
    "link_availability_lan": {"province": (31 * D, 31 * D, 1.0), "department": (0, 0, NA),
                              "district": (0, 0, NA), "commune": (0, 0, NA), "all": (31 * D, 31 * D, 1.0)},
    # p-inet 29 of 31 days; d1-inet 31 of 31; h1-inet no history
    "link_availability_internet": {"province": (29 * D, 31 * D, 29 / 31), "department": (31 * D, 31 * D, 1.0),
                                   "district": (0, 0, NA), "commune": (0, 0, NA),
                                   "all": (60 * D, 62 * D, 60 / 62)},
    "link_availability_wan": {"province": (0, 0, NA), "department": (31 * D, 31 * D, 1.0),
                              "district": (31 * D, 31 * D, 1.0), "commune": (0, 0, NA),
                              "all": (62 * D, 62 * D, 1.0)},
    "link_availability_tslcd": {"province": (27 * D, 31 * D, 27 / 31), "department": (0, 0, NA),
                                "district": (0, 0, NA), "commune": (0, 0, NA), "all": (27 * D, 31 * D, 27 / 31)},
    # p-r1 all month; d2-r1 disabled; h1-r1 30 days up, 1 day maintenance left out
    "device_availability_router": {"province": (31 * D, 31 * D, 1.0), "department": (0, 0, NA),
                                   "district": (30 * D, 30 * D, 1.0), "commune": (0, 0, NA),
                                   "all": (61 * D, 61 * D, 1.0)},
    # p-sw1 21 of 31 days; d1-sw1 31 of 31
    "device_availability_switch": {"province": (21 * D, 31 * D, 21 / 31), "department": (31 * D, 31 * D, 1.0),
                                   "district": (0, 0, NA), "commune": (0, 0, NA), "all": (52 * D, 62 * D, 52 / 62)},
    # d1-fw1 has no history at all: n/a everywhere
    "device_availability_firewall": dict.fromkeys(LEVELS, (0, 0, NA)),
    # p-srv1 29 days up, 2 days unreachable left out
    "device_availability_server": {"province": (29 * D, 29 * D, 1.0), "department": (0, 0, NA),
                                   "district": (0, 0, NA), "commune": (0, 0, NA), "all": (29 * D, 29 * D, 1.0)},
    # p-vc1 11 of 31 days; h1-vc1 16 of 31
    "device_availability_vc_endpoint": {"province": (11 * D, 31 * D, 11 / 31), "department": (0, 0, NA),
                                        "district": (16 * D, 31 * D, 16 / 31), "commune": (0, 0, NA),
                                        "all": (27 * D, 62 * D, 27 / 62)},
}  # fmt: skip

#: Live (latest states): p-inet DOWN, h1-vc1 DOWN, h1-man UNREACHABLE; the rest with history UP.
LIVE: dict[str, Expected] = {
    "lan_units": OCTOBER["lan_units"],
    "internet_units": {"province": (0, 1, 0.0), "department": (1, 2, 0.5), "district": (0, 1, 0.0),
                       "commune": (0, 1, 0.0), "all": (1, 5, 1 / 5)},
    "wan_units": {"province": (0, 1, 0.0), "department": (1, 2, 0.5), "district": (0, 1, 0.0),
                  "commune": (0, 1, 0.0), "all": (1, 5, 1 / 5)},
    "tslcd_units": {"province": (1, 1, 1.0), "department": (0, 2, 0.0), "district": (0, 1, 0.0),
                    "commune": (0, 1, 0.0), "all": (1, 5, 1 / 5)},
    "vc_endpoints": OCTOBER["vc_endpoints"],
    "vc_units": {"province": (1, 1, 1.0), "department": (0, 2, 0.0), "district": (0, 1, 0.0),
                 "commune": (0, 1, 0.0), "all": (1, 5, 1 / 5)},
    "computers_per_staff": OCTOBER["computers_per_staff"],
    "staff_with_computer": OCTOBER["staff_with_computer"],
    "internet_mbps_per_staff": OCTOBER["internet_mbps_per_staff"],
    "servers": OCTOBER["servers"],
    "link_availability_lan": {"province": (1, 1, 1.0), "department": (0, 0, NA), "district": (0, 0, NA),
                              "commune": (0, 0, NA), "all": (1, 1, 1.0)},
    "link_availability_internet": {"province": (0, 1, 0.0), "department": (1, 1, 1.0), "district": (0, 0, NA),
                                   "commune": (0, 0, NA), "all": (1, 2, 0.5)},
    # h1-man is UNREACHABLE: in neither a nor b
    "link_availability_wan": {"province": (0, 0, NA), "department": (1, 1, 1.0), "district": (0, 0, NA),
                              "commune": (0, 0, NA), "all": (1, 1, 1.0)},
    "link_availability_tslcd": {"province": (1, 1, 1.0), "department": (0, 0, NA), "district": (0, 0, NA),
                                "commune": (0, 0, NA), "all": (1, 1, 1.0)},
    "device_availability_router": {"province": (1, 1, 1.0), "department": (0, 0, NA), "district": (1, 1, 1.0),
                                   "commune": (0, 0, NA), "all": (2, 2, 1.0)},
    "device_availability_switch": {"province": (1, 1, 1.0), "department": (1, 1, 1.0), "district": (0, 0, NA),
                                   "commune": (0, 0, NA), "all": (2, 2, 1.0)},
    "device_availability_firewall": dict.fromkeys(LEVELS, (0, 0, NA)),
    "device_availability_server": {"province": (1, 1, 1.0), "department": (0, 0, NA), "district": (0, 0, NA),
                                   "commune": (0, 0, NA), "all": (1, 1, 1.0)},
    "device_availability_vc_endpoint": {"province": (1, 1, 1.0), "department": (0, 0, NA),
                                        "district": (0, 1, 0.0), "commune": (0, 0, NA), "all": (1, 2, 0.5)},
}  # fmt: skip


def rollups(rows: list[IndicatorRow]) -> dict[str, Expected]:
    found: dict[str, Expected] = {}
    for row in rows:
        if row.rollup:
            found.setdefault(row.indicator, {})[row.level] = (row.a, row.b, row.ratio)
    return found


def check(rows: list[IndicatorRow], expected: dict[str, Expected]) -> None:
    assert [d.id for d in CATALOG] == list(expected)
    found = rollups(rows)
    for indicator, levels in expected.items():
        for level, (a, b, ratio) in levels.items():
            got = found[indicator][level]
            where = f"{indicator} at {level}: got {got}"
            assert got[0] == a, where
            assert got[1] == b, where
            assert got[2] == (pytest.approx(ratio) if ratio is not None else None), where
    for row in rows:
        assert row.applicable is (row.b is None or row.b > 0)
        assert (row.ratio is None) is (row.b is None or row.b == 0)


def by_unit(rows: list[IndicatorRow], indicator: str, unit: str) -> IndicatorRow:
    return next(r for r in rows if r.indicator == indicator and r.unit == unit)


def test_october_every_indicator_by_level(store: Store, tmp_path: Path) -> None:
    inventory = load_province(store, tmp_path)
    rows = compute(store.engine, inventory, "2026-10", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    check(rows, OCTOBER)
    assert {r.period for r in rows} == {"2026-10"}


def test_october_unit_rows_and_evidence(store: Store, tmp_path: Path) -> None:
    inventory = load_province(store, tmp_path)
    rows = compute(store.engine, inventory, "2026-10", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    ward = by_unit(rows, "computers_per_staff", "W1")
    assert (ward.a, ward.b, ward.ratio, ward.applicable, ward.points) == (3, 0, None, False, None)
    d2 = by_unit(rows, "staff_with_computer", "D2")
    assert (d2.a, d2.b, d2.ratio, d2.points) == (0, 5, 0.0, 0.0)
    p = by_unit(rows, "staff_with_computer", "P")
    assert (p.a, p.b, p.ratio, p.points, p.source) == (10, 10, 1.0, 10.0, "declared inventory")
    assert p.evidence_a == ("unit:P computers=12 capped at staff=10",)
    lan = by_unit(rows, "lan_units", "D1")
    assert (lan.evidence_a, lan.evidence_b, lan.source) == (
        ("unit:D1 (device:d1-sw1 up 100.0% ≥ 90%)",),
        ("unit:D1",),
        "live monitoring",
    )
    assert by_unit(rows, "lan_units", "D2").evidence_a == ("unit:D2 (link:d2-lan (lan) declared)",)
    switch = next(r for r in rows if r.indicator == "device_availability_switch" and r.level == "all")
    assert switch.evidence_a == ("device:p-sw1 up 1814400 s", "device:d1-sw1 up 2678400 s")
    assert switch.evidence_b == ("device:p-sw1 up+down 2678400 s", "device:d1-sw1 up+down 2678400 s")
    assert [r.unit for r in rows if r.indicator == "servers"] == [
        "P",
        None,
        "D1",
        "D2",
        None,
        "H1",
        None,
        "W1",
        None,
        None,
    ]


def test_live_every_indicator_by_level(store: Store, tmp_path: Path) -> None:
    inventory = load_province(store, tmp_path)
    rows = compute(store.engine, inventory, "live", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    check(rows, LIVE)
    assert {r.period for r in rows} == {"live"}


def test_live_rows_from_memory_equal_the_database_ones(store: Store, tmp_path: Path) -> None:
    inventory = load_province(store, tmp_path)
    states = {(s.kind, s.name): s.state for s in OutageLedger(store.engine).last_states()}
    from_db = compute(store.engine, inventory, "live", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    assert live_rows(inventory, states, CATALOG) == from_db


def test_level_filter_keeps_that_level_and_its_rollup(store: Store, tmp_path: Path) -> None:
    inventory = load_province(store, tmp_path)
    rows = compute(store.engine, inventory, "2026-10", level=Level.DEPARTMENT, zone=ZONE, now=NOW, definitions=CATALOG)
    assert {r.level for r in rows} == {"department"}
    assert [(r.unit, r.a, r.b) for r in rows if r.indicator == "internet_units"] == [
        ("D1", 1, 1),
        ("D2", 0, 1),
        (None, 1, 2),
    ]


def test_an_outage_across_the_quarter_boundary_splits_in_local_time(store: Store, tmp_path: Path) -> None:
    """p-inet is down 2026-09-30 19:00 .. 2026-10-01 12:00 local: 5 h in Q3, 12 h in Q4."""
    inventory = province(tmp_path)
    store.import_parsed(parsed_province(tmp_path), profiles=set())
    up, down = State.UP, State.DOWN
    OutageLedger(store.engine).apply(
        [
            Transition(kind="link", name="p-inet", old=State.UNKNOWN, new=up, ts=datetime(2026, 6, 1, tzinfo=UTC)),
            Transition(kind="link", name="p-inet", old=up, new=down, ts=datetime(2026, 9, 30, 12, tzinfo=UTC)),
            Transition(kind="link", name="p-inet", old=down, new=up, ts=datetime(2026, 10, 1, 5, tzinfo=UTC)),
        ]
    )
    later = datetime(2027, 1, 15, tzinfo=UTC)

    def province_row(period: str) -> IndicatorRow:
        rows = compute(store.engine, inventory, period, level=Level.PROVINCE, zone=ZONE, now=later, definitions=CATALOG)
        return next(r for r in rows if r.indicator == "link_availability_internet" and r.rollup)

    q3, q4 = province_row("2026-Q3"), province_row("2026-Q4")
    # Q3 and Q4 are 92 days each (Jul+Aug+Sep, Oct+Nov+Dec)
    assert (q3.a, q3.b) == (92 * D - 5 * 3600, 92 * D)
    assert (q4.a, q4.b) == (92 * D - 12 * 3600, 92 * D)
    assert q3.ratio == pytest.approx(1 - 5 / (92 * 24))
    assert q4.ratio == pytest.approx(1 - 12 / (92 * 24))
    # the year: unknown until 2026-06-01T00:00Z, then 213 days and 17 hours to 2026-12-31T17:00Z, 17 h down
    year = province_row("2026")
    assert (year.a, year.b) == (213 * D, 213 * D + 17 * 3600)
