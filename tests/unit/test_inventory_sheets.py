"""Inventory files from Excel: XLSX both ways, CSV delimiters, BOM, NFD, padded choices, formula cells (issue 16)."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from netmon.errors import InventoryError
from netmon.inventory.files import csv_safe, read_files, unquote_cell, write_csv
from netmon.inventory.models import CommuneType, Level, Role
from netmon.inventory.plan import make_plan
from netmon.inventory.sheets import write_xlsx
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, ServiceSpec, UnitSpec

EMPTY = Inventory(units={}, devices={}, links={})
TRICKY = ["=1+1", '=HYPERLINK("http://127.0.0.1/x","bấm")', "+84 1", "-1", "@SUM(1)", "'quoted", "''=2"]


def _inventory() -> Inventory:
    units = {
        "P": UnitSpec(code="P", name="Tỉnh Ninh Bình", level=Level.PROVINCE, staff=90),
        "H1": UnitSpec(code="H1", name="Huyện Hoa Lư", level=Level.DISTRICT, parent="P", valid_to=date(2025, 7, 1)),
        "X1": UnitSpec(
            code="X1",
            name="Thị trấn Thiên Tôn",
            level=Level.COMMUNE,
            type=CommuneType.THI_TRAN,
            parent="H1",
            valid_to=date(2025, 7, 1),
            successor="XN",
        ),
        "XN": UnitSpec(
            code="XN",
            name="Xã Hoa Lư",
            level=Level.COMMUNE,
            type=CommuneType.XA,
            parent="P",
            valid_from=date(2025, 7, 1),
        ),
    }
    for index, name in enumerate(TRICKY):
        units[f"T{index}"] = UnitSpec(code=f"T{index}", name=name, level=Level.DEPARTMENT, parent="P", computers=0)
    devices = {
        "r1": DeviceSpec(
            name="r1",
            unit="XN",
            role=Role.ROUTER,
            address="127.31.0.1",
            tags=("core", "vlan:10"),
            enabled=False,
            previous_unit="X1",
            moved_on=date(2025, 7, 1),
        )
    }
    links = {"l1": LinkSpec.model_validate({"name": "l1", "kind": "internet", "unit": "P", "provider": "=VNPT"})}
    return Inventory(units=units, devices=devices, links=links)


def _desired(paths: list[Path]) -> Inventory:
    parsed = read_files(paths)
    return make_plan(EMPTY, parsed, profiles=set(), prune=False).desired


def test_xlsx_round_trip_is_lossless(tmp_path: Path) -> None:
    inventory = _inventory()
    path = tmp_path / "units.xlsx"
    write_xlsx(inventory, path)
    assert _desired([path]) == inventory
    book = load_workbook(path)
    assert book.sheetnames == ["units", "devices", "links"]
    names = [row[1].value for row in book["units"].iter_rows(min_row=2)]
    assert "=1+1" in names
    formula_cells = [c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []  # text is text: no cell is a formula
    assert {str(s.page_setup.paperSize) for s in book.worksheets} == {"9"}  # 9: A4 (ECMA-376 paperSize)


def test_csv_round_trip_is_lossless_and_has_a_bom(tmp_path: Path) -> None:
    inventory = _inventory()
    written = write_csv(inventory, tmp_path / "csv")
    assert all(path.read_bytes().startswith(b"\xef\xbb\xbf") for path in written)
    text = (tmp_path / "csv" / "units.csv").read_text(encoding="utf-8-sig")
    assert "\n'=1+1" not in text  # the name is a cell, not a line start
    for cell in (",'=1+1,", ",'-1,", ",'@SUM(1),", ",''quoted,"):
        assert cell in text
    assert _desired([tmp_path / "csv"]) == inventory


def _sheet_book(path: Path, rows: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, lines in rows.items():
        sheet = book.create_sheet(title)
        for line in lines:
            sheet.append(line)
    book.save(path)
    return path


def test_xlsx_errors_name_file_sheet_and_cell(tmp_path: Path) -> None:
    path = _sheet_book(
        tmp_path / "units.xlsx",
        {
            "units": [
                ["code", "name", "level", "parent", "colour"],
                ["P", "Tỉnh", "province"],
                ["X1", "Xã", "hamlet", "P"],
                ["X2", "Xã Hai", "commune", "Q9"],
            ],
            "notes": [["anything"]],
        },
    )
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:units!E1: column 'colour': unknown column for units",
        f"{path}:units!C3: unit 'X1': level: Input should be 'province', 'department', 'district' or 'commune'",
        f"{path}:notes: sheet 'notes': unknown sheet (expected units, devices, links, services)",
        f"{path}:units!D4: unit 'X2': parent: unknown parent unit 'Q9'",
    ]


def test_a_value_in_a_column_without_a_header_is_an_error_not_lost(tmp_path: Path) -> None:
    path = _sheet_book(
        tmp_path / "units.xlsx",
        {"units": [["code", "name", None, "level"], ["P", "Tỉnh", "stray", "province", "more"]]},
    )
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:units!{column}2: unit row 2: a value in a column without a header: name the column in row 1,"
        " or clear the cell"
        for column in ("C", "E")
    ]


def test_a_file_that_is_not_a_workbook_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    path.write_text("code,name\n", encoding="utf-8")
    parsed = read_files([path])
    assert [str(i) for i in parsed.issues] == [
        f"{path}: not an XLSX workbook (BadZipFile); save it as .xlsx from Excel or LibreOffice"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "this looks like an old Excel workbook (.xls) or a password-protected one, not an XLSX workbook: save"
            " it as .xlsx in Excel or LibreOffice, without a password",
            id="xls",
        ),
        pytest.param(
            b"%PDF-1.7\n",
            "this looks like a PDF document, not an XLSX workbook: netmon reads no PDF; import the spreadsheet the"
            " list is kept in",
            id="pdf",
        ),
    ],
)
def test_a_workbook_of_another_format_says_what_it_looks_like(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "units.xlsx"
    path.write_bytes(content)
    assert [str(i) for i in read_files([path]).issues] == [f"{path}: {message}"]


SEMI = "code;name;level;parent;staff\nP;Tỉnh Ninh Bình;province;;90\nX1;Xã Hoa Lư;commune;P;12\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(SEMI, id="semicolon-vi-VN-Excel"),
        pytest.param(SEMI.replace(";", "\t"), id="tab"),
        pytest.param("\ufeff" + SEMI, id="semicolon-with-BOM"),
        pytest.param(SEMI.replace(";", ","), id="comma"),
    ],
)
def test_csv_delimiters_are_sniffed(tmp_path: Path, text: str) -> None:
    (tmp_path / "units.csv").write_text(text, encoding="utf-8")
    units = _desired([tmp_path / "units.csv"]).units
    assert [(u.code, u.name, u.level, u.parent, u.staff) for u in units.values()] == [
        ("P", "Tỉnh Ninh Bình", Level.PROVINCE, None, 90),
        ("X1", "Xã Hoa Lư", Level.COMMUNE, "P", 12),
    ]


def test_a_csv_without_known_columns_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("mã|tên|cấp\n" + "P|Tỉnh|province\n" * 400, encoding="utf-8")
    parsed = read_files([path])
    assert [str(i) for i in parsed.issues] == [
        (
            f"{path}:1: the first line 'mã|tên|cấp' names none of the units columns (code, name, level, "
            "parent, staff, computers, servers, vc_endpoints, type, valid_from, valid_to, successor, poller_group) "
            "when split at ',', ';' or tab"
        )
    ]


def test_nfd_names_and_padded_choices_import_as_the_same_records(tmp_path: Path) -> None:
    nfc = "code,name,level,parent,type\nP,Tỉnh Ninh Bình,province,,\nX1,Xã Hoa Lư,commune,P,xã\n"
    padded = "code,name,level,parent,type\nP,  Tỉnh Ninh Bình ,  Province ,,\nX1,Xã Hoa Lư, commune , P ,Xã \n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "units.csv").write_text(nfc, encoding="utf-8")
    (tmp_path / "b" / "units.csv").write_text(unicodedata.normalize("NFD", padded), encoding="utf-8")
    first = _desired([tmp_path / "a"])
    second = _desired([tmp_path / "b"])
    assert second == first
    assert unicodedata.is_normalized("NFC", second.units["X1"].name)
    parsed = read_files([tmp_path / "b"])
    plan = make_plan(first, parsed, profiles=set(), prune=False)
    assert plan.changes == ()  # re-importing the same names in NFD changes nothing


def test_ward_files_still_import_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(
        "units:\n  - {code: P, name: Tỉnh, level: province}\n  - {code: H, name: Huyện, level: district, parent: P}\n"
        "  - {code: W, name: Xã, level: ward, parent: H}\n",
        encoding="utf-8",
    )
    parsed = read_files([path])
    assert parsed.notes == [
        (
            f"{path}: level 'ward' is read as 'commune' (1 units): since 2025-07-01 communes (xã, phường, đặc khu) "
            "sit directly under the province; a commune under a district is the historic three-tier structure"
        )
    ]
    assert _desired([path]).units["W"].level is Level.COMMUNE


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, valid_to: 2026-01-01, successor: X}",
            "unit 'X': successor: a unit cannot be its own successor",
            id="own-successor",
        ),
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, successor: P}",
            "unit 'X': successor: a unit with a successor needs valid_to (the day it merged)",
            id="successor-without-valid-to",
        ),
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, valid_to: 2026-01-01, successor: P}",
            "unit 'X': successor: the successor 'P' is a province, not a commune",
            id="successor-of-another-level",
        ),
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, valid_from: 2025-07-01, valid_to: 2025-07-01}",
            "unit 'X': valid_to: must be after valid_from (2025-07-01)",
            id="empty-validity",
        ),
        pytest.param(
            "{code: X, name: X, level: department, parent: P, type: xã}",
            "unit 'X': type: only a commune has a type (xã, phường, đặc khu, thị trấn), not a department",
            id="type-of-a-department",
        ),
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, valid_to: 2026-01-01, successor: Y}\n"
            "  - {code: Y, name: Y, level: commune, parent: P, valid_from: 2026-02-01}",
            "unit 'X': successor: the successor 'Y' is not in force on 2026-01-01",
            id="successor-not-yet-in-force",
        ),
    ],
)
def test_validity_and_successor_errors(tmp_path: Path, row: str, message: str) -> None:
    assert _unit_errors(tmp_path, row) == [message]


def _unit_errors(tmp_path: Path, rows: str) -> list[str]:
    """Import a province P and *rows* (YAML flow mappings); return the issues without their file and line."""
    path = tmp_path / "inv.yaml"
    path.write_text(f"units:\n  - {{code: P, name: Tỉnh, level: province}}\n  - {rows}\n", encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    return [str(i).split(": ", 1)[1] for i in caught.value.issues]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param(
            "{code: X, name: X, level: commune, parent: P, valid_from: 2020-01-01, valid_to: 2025-06-01}",
            "unit 'X': parent: before 2025-07-01 a commune sat under a district, not under the province",
            id="old-commune-under-the-province",
        ),
        pytest.param(
            "{code: D, name: D, level: district, parent: P}\n"
            "  - {code: X, name: X, level: commune, parent: D, valid_from: 2025-07-01}",
            "unit 'X': parent: since 2025-07-01 a commune sits under the province, not under a district",
            id="new-commune-under-a-district",
        ),
        pytest.param(
            "{code: D, name: D, level: district, parent: P, valid_from: 2025-08-01}",
            "unit 'D': valid_from: no district since 2025-07-01 (two-tier: communes sit under the province)",
            id="district-after-the-reform",
        ),
        pytest.param(
            "{code: D, name: D, level: district, parent: P, valid_from: 2020-01-01, valid_to: 2025-09-01}",
            "unit 'D': valid_to: no district since 2025-07-01: its valid_to is 2025-07-01 at the latest"
            " (the districts ended with the reform)",
            id="district-outlives-the-reform",
        ),
        pytest.param(
            "{code: D, name: D, level: district, parent: P, valid_to: 2025-07-01}\n"
            "  - {code: X, name: X, level: commune, parent: D}",
            "unit 'X': parent: the parent unit 'D' (valid_to 2025-07-01) is not in force whenever this unit is"
            " (always)",
            id="commune-outlives-its-district",
        ),
        pytest.param(
            "{code: D, name: D, level: district, parent: P, valid_from: 2020-01-01, valid_to: 2025-07-01}\n"
            "  - {code: X, name: X, level: commune, parent: D, valid_from: 2019-01-01, valid_to: 2025-07-01}",
            "unit 'X': parent: the parent unit 'D' (valid_from 2020-01-01, valid_to 2025-07-01) is not in force"
            " whenever this unit is (valid_from 2019-01-01, valid_to 2025-07-01)",
            id="commune-before-its-district",
        ),
    ],
)
def test_a_unit_lies_within_its_parent_and_on_its_side_of_the_reform(tmp_path: Path, rows: str, message: str) -> None:
    """Both structures are dated: a three-tier unit after 2025-07-01 or a two-tier one before it imported silently."""
    assert _unit_errors(tmp_path, rows) == [message]


@pytest.mark.parametrize(
    ("row", "issue"),
    [
        pytest.param(
            "valid_from: 2025-07-01, type: thị trấn",
            "4: unit 'X': valid_from: no thị trấn since 2025-07-01 (abolished with the districts: it became a xã"
            " or phường)",
            id="thi-tran-formed-after-the-reform",
        ),
        pytest.param(
            "valid_from: 2020-01-01, valid_to: 2025-09-01, type: thị trấn",
            "5: unit 'X': valid_to: no thị trấn since 2025-07-01 (abolished with the districts: it became a xã"
            " or phường); its valid_to is 2025-07-01 at the latest",
            id="thi-tran-outlives-the-reform",
        ),
        pytest.param(
            "valid_to: 2025-07-01, type: đặc khu",
            "4: unit 'X': valid_to: no đặc khu before 2025-07-01 (created by the reform: before it, an island"
            " district was a huyện)",
            id="dac-khu-ended-by-the-reform",
        ),
        pytest.param(
            "valid_from: 2024-01-01, type: đặc khu",
            "4: unit 'X': valid_from: no đặc khu before 2025-07-01 (created by the reform: before it, an island"
            " district was a huyện); its valid_from is 2025-07-01 at the earliest",
            id="dac-khu-before-the-reform",
        ),
    ],
)
def test_a_commune_type_lies_on_its_side_of_the_reform(tmp_path: Path, row: str, issue: str) -> None:
    """A thị trấn after 2025-07-01 or a đặc khu before it imported silently; the issue sits at the date's line."""
    path = tmp_path / "inv.yaml"
    fields = "\n".join(f"    {field}" for field in row.split(", "))
    path.write_text(
        f"units:\n  - {{code: P, name: Tỉnh, level: province}}\n  - code: X\n{fields}\n"
        "    name: X\n    level: commune\n    parent: P\n",
        encoding="utf-8",
    )
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    # a đặc khu ended by 2025-07-01 under the province is also a commune that sat under a district then
    issues = [str(i) for i in caught.value.issues if "thị trấn since" in str(i) or "đặc khu before" in str(i)]
    assert issues == [f"{path}:{issue}"]


@pytest.mark.parametrize("kind", ["thị trấn", "đặc khu"])
def test_an_undated_commune_type_is_always_and_imports(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"units:\n  - {{code: P, name: Tỉnh, level: province}}\n  - {{code: X, name: X, level: commune, parent: P,"
        f" type: {kind}}}\n",
        encoding="utf-8",
    )
    assert list(_desired([path]).units) == ["P", "X"]


def test_a_commune_type_against_the_reform_is_placed_at_its_cell(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "units"
    sheet.append(["code", "name", "level", "type", "parent", "valid_from", "valid_to"])
    sheet.append(["P", "Tỉnh", "province", None, None, None, None])
    sheet.append(["X", "Thị trấn Y", "commune", "thị trấn", "P", date(2025, 7, 1), None])
    path = tmp_path / "units.xlsx"
    book.save(path)
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    assert f"{path}:units!F3: unit 'X': valid_from: no thị trấn since 2025-07-01" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "formatted", "provided"),
    [
        pytest.param([], False, [], id="empty-sheet"),
        # cleared, its cells still formatted: openpyxl gives rows of None, which gave an empty list,
        # and --prune then asked to delete every stored record of it
        pytest.param([], True, [], id="cleared-sheet"),
        pytest.param(["code", "name", "level"], False, ["units"], id="header-only"),
    ],
)
def test_a_workbook_without_records_is_named_in_a_warning(
    tmp_path: Path, header: list[str], formatted: bool, provided: list[str]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "units"
    if header:
        sheet.append(header)
    if formatted:
        for cell in ("A1", "B1", "C3"):
            sheet[cell].font = Font(bold=True)
    path = tmp_path / "inv.xlsx"
    book.save(path)
    parsed = read_files([path])
    assert (parsed.issues, len(parsed)) == ([], 0)
    assert parsed.warnings == [f"{path}: holds no records (no row in any list)"]
    assert [kind.plural for kind in parsed.provided] == provided
    assert list(parsed.provided.values()) == [(f"{path}:units", None)] * len(provided)


def test_a_move_needs_both_fields(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "units:\n  - {code: P, name: Tỉnh, level: province}\n"
        "devices:\n  - {name: r1, unit: P, role: router, address: 127.31.0.9, moved_on: 2025-07-01}\n",
        encoding="utf-8",
    )
    with pytest.raises(InventoryError) as caught:
        _desired([path])
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:4: device 'r1': previous_unit: a move needs both previous_unit and moved_on"
    ]


@given(st.text(max_size=40))
def test_csv_safe_round_trips_and_never_starts_a_formula(text: str) -> None:
    safe = csv_safe(text)
    assert unquote_cell(safe) == text
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))


# no control or format characters, and no space but " " (spec._visible refuses or maps the others)
_LETTERS = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp")) | st.just(" ")
_NAME = st.text(alphabet=_LETTERS, min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and unicodedata.is_normalized("NFC", s)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_NAME)
def test_any_name_survives_csv_and_xlsx(tmp_path: Path, name: str) -> None:
    inventory = Inventory(units={"P": UnitSpec(code="P", name=name, level=Level.PROVINCE)}, devices={}, links={})
    write_csv(inventory, tmp_path / "csv")
    write_xlsx(inventory, tmp_path / "units.xlsx")
    assert _desired([tmp_path / "csv"]) == inventory
    assert _desired([tmp_path / "units.xlsx"]) == inventory


def test_xlsx_and_csv_carry_services_when_there_are_some(tmp_path: Path) -> None:
    base = _inventory()
    services = {
        "portal": ServiceSpec.model_validate(
            {"name": "portal", "unit": "P", "check": "http", "url": "https://portal.example.vn/", "body_match": "=ok"}
        ),
        "mail": ServiceSpec.model_validate(
            {"name": "mail", "unit": "P", "check": "tcp", "address": "198.51.100.25:25"}
        ),
    }
    inventory = Inventory(units=base.units, devices=base.devices, links=base.links, services=services)
    write_xlsx(inventory, tmp_path / "units.xlsx")
    assert load_workbook(tmp_path / "units.xlsx").sheetnames == ["units", "devices", "links", "services"]
    assert _desired([tmp_path / "units.xlsx"]) == inventory
    written = write_csv(inventory, tmp_path / "csv")
    assert [path.name for path in written] == ["units.csv", "devices.csv", "links.csv", "services.csv"]
    assert _desired([tmp_path / "csv"]) == inventory
