"""Indicators across the 2025-07-01 reorganisation, on SQLite and PostgreSQL (issue 16).

Every a, b and ratio below is computed by hand from tests/integration/reorg_province.py
(D = one day in seconds; threshold connected_min_up = 90 %). n/a: b = 0, no ratio.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from netmon.config import INDICATOR_RULES
from netmon.indicators.compute import compute
from netmon.indicators.definitions import load_catalog
from netmon.indicators.period import parse_period
from netmon.indicators.row import IndicatorRow
from netmon.indicators.xlsx import write_xlsx
from netmon.inventory import schema
from netmon.inventory.store import Store
from tests.integration.reorg_province import DAY as D
from tests.integration.reorg_province import NOW, load_reorg

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog(rules=INDICATOR_RULES)
NA = None
H1, H2 = "2025-01-01..2025-06-30", "2025-07-01..2025-12-31"

#: (a, b, ratio, declared) per indicator and level, for one period or part.
Expected = dict[str, dict[str, tuple[float, float | None, float | None, float | None]]]

# Old structure: NB, ND | SKHCN, STTTT | HL | X1, X2, X3.
#   internet_units: NB, ND up 100 %; SKHCN 100 %, STTTT 71/91 = 78 % < 90 %; HL: hl-inet no data (left out);
#   X1 100 %, X2 has no link (0, counted), X3: x3-inet no data (left out).
#   servers: NB 3 + ND 1 declared; SKHCN srv-b, STTTT srv-a (moved on 07-01), counted from devices.
Q2: Expected = {
    "internet_units": {"province": (2, 2, 1.0, 2), "department": (1, 2, 0.5, 2), "district": (0, 0, NA, 1),
                       "commune": (1, 2, 0.5, 2), "all": (4, 6, 4 / 6, 7)},
    "servers": {"province": (4, NA, NA, NA), "department": (2, NA, NA, NA), "district": (0, NA, NA, NA),
                "commune": (0, NA, NA, NA), "all": (6, NA, NA, NA)},
    "link_availability_internet": {
        "province": (182 * D, 182 * D, 1.0, NA), "department": (162 * D, 182 * D, 162 / 182, NA),
        "district": (0, 0, NA, NA), "commune": (91 * D, 91 * D, 1.0, NA), "all": (435 * D, 455 * D, 435 / 455, NA)},
}  # fmt: skip

# New structure: NB | SKHCN | (no district) | XN, PT. nd-inet rolls into NB, st-inet and srv-a into SKHCN,
# x1-inet and x3-inet into XN; hl-inet is dropped with HL (no successor).
#   internet_units: XN: x1-inet 82/92 = 89.1 % < 90 %, x3-inet no data: 0 (it has data); PT no link: 0.
Q3: Expected = {
    "internet_units": {"province": (1, 1, 1.0, 1), "department": (1, 1, 1.0, 1), "district": (0, 0, NA, 0),
                       "commune": (0, 2, 0.0, 1), "all": (2, 4, 0.5, 3)},
    "servers": {"province": (3, NA, NA, NA), "department": (2, NA, NA, NA), "district": (0, NA, NA, NA),
                "commune": (0, NA, NA, NA), "all": (5, NA, NA, NA)},
    "link_availability_internet": {
        "province": (184 * D, 184 * D, 1.0, NA), "department": (184 * D, 184 * D, 1.0, NA),
        "district": (0, 0, NA, NA), "commune": (82 * D, 92 * D, 82 / 92, NA), "all": (450 * D, 460 * D, 450 / 460, NA)},
}  # fmt: skip

# 2025, first part (181 days, old structure): st-inet 161/181 = 88.9 % < 90 %: as Q2.
YEAR_H1: Expected = {
    "internet_units": Q2["internet_units"],
    "servers": Q2["servers"],
    "link_availability_internet": {
        "province": (362 * D, 362 * D, 1.0, NA), "department": (342 * D, 362 * D, 342 / 362, NA),
        "district": (0, 0, NA, NA), "commune": (181 * D, 181 * D, 1.0, NA),
        "all": (885 * D, 905 * D, 885 / 905, NA)},
}  # fmt: skip

# 2025, second part (184 days, new structure): x1-inet 174/184 = 94.6 % >= 90 %: XN counts.
YEAR_H2: Expected = {
    "internet_units": {"province": (1, 1, 1.0, 1), "department": (1, 1, 1.0, 1), "district": (0, 0, NA, 0),
                       "commune": (1, 2, 0.5, 1), "all": (3, 4, 0.75, 3)},
    "servers": Q3["servers"],
    "link_availability_internet": {
        "province": (368 * D, 368 * D, 1.0, NA), "department": (368 * D, 368 * D, 1.0, NA),
        "district": (0, 0, NA, NA), "commune": (174 * D, 184 * D, 174 / 184, NA),
        "all": (910 * D, 920 * D, 910 / 920, NA)},
}  # fmt: skip


def _check(rows: list[IndicatorRow], expected: Expected, part: str) -> None:
    found = {(r.indicator, r.level): r for r in rows if r.rollup and r.part == part}
    for indicator, levels in expected.items():
        for level, (a, b, ratio, declared) in levels.items():
            row = found[(indicator, level)]
            got = (row.a, row.b, row.ratio, row.declared)
            where = f"{indicator} at {level} ({part or 'whole'}): got {got}"
            assert (row.a, row.b, row.declared) == (a, b, declared), where
            assert row.ratio == (pytest.approx(ratio) if ratio is not None else None), where


def _rows(store: Store, tmp_path: Path, period: str) -> list[IndicatorRow]:
    inventory = load_reorg(store, tmp_path)
    return compute(store.engine, inventory, period, level=None, zone=ZONE, now=NOW, definitions=CATALOG)


def test_q2_is_reported_in_the_old_three_tier_structure(store: Store, tmp_path: Path) -> None:
    rows = _rows(store, tmp_path, "2025-Q2")
    _check(rows, Q2, "")
    units = {r.unit for r in rows if r.indicator == "servers" and r.unit is not None}
    assert units == {"NB", "ND", "SKHCN", "STTTT", "HL", "X1", "X2", "X3"}
    hl = next(r for r in rows if r.indicator == "internet_units" and r.unit == "HL")
    assert (hl.no_data, hl.applicable, hl.ratio, hl.points) == (True, False, None, None)
    assert "no up/down time in the period for link:hl-inet" in hl.note
    district = next(r for r in rows if r.indicator == "internet_units" and r.rollup and r.level == "district")
    assert district.note.endswith("left out of b: HL")
    sk = next(r for r in rows if r.indicator == "servers" and r.unit == "SKHCN")
    assert sk.evidence_a == ("device:srv-b (server) — no declared servers: counted from the inventory",)
    nb = next(r for r in rows if r.indicator == "servers" and r.unit == "NB")
    assert nb.evidence_a == ("unit:NB servers=3",)


def test_q3_is_reported_in_the_new_two_tier_structure(store: Store, tmp_path: Path) -> None:
    rows = _rows(store, tmp_path, "2025-Q3")
    _check(rows, Q3, "")
    units = {r.unit for r in rows if r.indicator == "servers" and r.unit is not None}
    assert units == {"NB", "SKHCN", "XN", "PT"}
    xn = next(r for r in rows if r.indicator == "internet_units" and r.unit == "XN")
    assert (xn.a, xn.b, xn.declared, xn.no_data) == (0, 1, 1, False)  # declared, not seen working ≥ 90 %
    nb = next(r for r in rows if r.indicator == "link_availability_internet" and r.unit == "NB")
    assert nb.evidence_a == (f"link:nb-inet up {92 * D} s", f"link:nd-inet up {92 * D} s")  # ND rolled into NB


def test_the_year_2025_is_split_at_1_july(store: Store, tmp_path: Path) -> None:
    rows = _rows(store, tmp_path, "2025")
    assert {r.part for r in rows} == {H1, H2}
    assert {r.period for r in rows} == {"2025"}
    _check(rows, YEAR_H1, H1)
    _check(rows, YEAR_H2, H2)


def test_migration_0008_turns_wards_into_communes(db_url: str) -> None:
    engine = schema.create_engine(db_url)
    try:
        schema.upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO units (code, name, level) VALUES ('W', 'Xã Một', 'ward')"))
        assert schema.upgrade(engine) == ("0005", schema.HEAD)
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT level, type, valid_to FROM units")).all() == [("commune", None, None)]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # the CHECK constraint knows no ward
            conn.execute(sa.text("UPDATE units SET level = 'ward'"))
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE units SET type = 'thôn'"))
    finally:
        engine.dispose()


def test_the_evidence_sheet_of_a_split_year_says_which_part_each_item_counts_in(store: Store, tmp_path: Path) -> None:
    """NB's internet availability in 2025: nb-inet 181 days in the first part.

    In the second, nb-inet and ND's nd-inet (ND merged into NB) 184 days each.
    """
    rows = _rows(store, tmp_path, "2025")
    period = parse_period("2025", ZONE, NOW)
    path = tmp_path / "2025.xlsx"
    write_xlsx(rows, path, period=period, catalog=CATALOG, generated_at=NOW)
    sheet = openpyxl.load_workbook(path, read_only=True)["Bằng chứng - Evidence"]
    items = [
        r
        for r in sheet.iter_rows(min_row=3, values_only=True)
        if r[:4] == ("link_availability_internet", "NB", "province", "a")
    ]
    assert [(r[4], r[5]) for r in items] == [
        (f"link:nb-inet up {181 * D} s", H1),
        (f"link:nb-inet up {184 * D} s", H2),
        (f"link:nd-inet up {184 * D} s", H2),
    ]
