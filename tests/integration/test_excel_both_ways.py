"""Excel both ways through the CLI, formula injection checked by LibreOffice, no-data warnings (issue 16)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner, Result

from netmon.cli import app
from netmon.indicators.compute import compute
from netmon.indicators.export import Format, write_export
from netmon.indicators.period import parse_period
from netmon.indicators.xlsx import DECLARED_NOT_SEEN, SHEETS, SPLIT
from netmon.inventory.files import read_files, write_csv
from netmon.inventory.sheets import write_xlsx
from netmon.inventory.spec import LinkSpec
from netmon.inventory.store import Store
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_INVENTORY
from tests.integration.reorg_province import NOW, load_reorg
from tests.integration.test_reorganisation import CATALOG, ZONE

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed: ensure-system.sh")
#: LibreOffice's CSV import with "evaluate formulas" on, as Excel does (token 13 of the CSV filter options).
_CSV_IN = "CSV:44,34,76,1,,1033,false,false,false,false,false,-1,true"
NAMES = ["=1+1", '=HYPERLINK("http://127.0.0.1/x","bấm vào đây")', "@SUM(1,2)", "+1+2", "-3+4"]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"NETMON_CONFIG": None})


@pytest.fixture
def config(tmp_path: Path, store: Store, db_url: str) -> Path:
    """The example config on this test's (migrated) database."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {db_url}")
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_inventory_xlsx_export_then_import_changes_nothing(config: Path, tmp_path: Path) -> None:
    assert run("inventory", "import", EXAMPLE_INVENTORY, "-c", config).exit_code == 0
    exported = run("inventory", "export", "--format", "xlsx", "-o", tmp_path / "units.xlsx", "-c", config)
    assert exported.exit_code == 0, exported.stderr
    book = load_workbook(tmp_path / "units.xlsx")
    assert book.sheetnames == ["units", "devices", "links", "services"]  # the example has services
    again = run("inventory", "import", tmp_path / "units.xlsx", "-c", config)
    assert again.exit_code == 0, again.stderr
    assert "imported: 0 to create, 0 to update, 0 to delete, 147 unchanged" in again.stdout


def test_inventory_xlsx_errors_exit_2_naming_the_cell(config: Path, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "units"
    sheet.append(["code", "name", "level"])
    sheet.append(["P", "Tỉnh", "tỉnh"])
    book.save(tmp_path / "units.xlsx")
    result = run("inventory", "import", tmp_path / "units.xlsx", "-c", config)
    assert result.exit_code == 2
    assert f"{tmp_path / 'units.xlsx'}:units!C2: unit 'P': level: Input should be" in result.stderr
    assert "Traceback" not in result.stderr


def test_old_ward_files_import_with_a_note(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(
        "units:\n  - {code: P, name: Tỉnh, level: province}\n  - {code: H, name: Huyện, level: district, parent: P}\n"
        "  - {code: W, name: Xã, level: ward, parent: H}\n",
        encoding="utf-8",
    )
    result = run("inventory", "import", path, "-c", config)
    assert result.exit_code == 0, result.stderr
    assert "note: " in result.stderr
    assert "level 'ward' is read as 'commune' (1 units)" in result.stderr


def test_the_cli_warns_when_the_period_starts_before_the_first_sample(config: Path, tmp_path: Path) -> None:
    assert run("inventory", "import", EXAMPLE_INVENTORY, "-c", config).exit_code == 0
    result = run("export", "indicators", "-p", "2026-Q3", "-o", tmp_path / "q3.csv", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert "warning: netmon has recorded no state yet: 2026-Q3 has no monitoring data" in result.stderr
    with (tmp_path / "q3.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    example = read_files([EXAMPLE_INVENTORY])
    links = [r.spec for r in example.records[LinkSpec] if isinstance(r.spec, LinkSpec)]
    linked = {link.unit for link in links if link.kind == "internet"}
    internet = {r["unit"]: r for r in rows if r["indicator"] == "internet_units" and r["unit"]}
    assert set(internet) == {
        "SL",
        "SL-VPUB",
        "SL-SKHCN",
        "SL-STC",
        "SL-SYT",
        "SL-LG",
        "SL-HS",
        "SL-CL",
        "SL-PL",
        "SL-LS",
    }
    # not 0 %: a unit with an internet link but no monitoring history is "no data", left out of b
    assert {code for code, r in internet.items() if r["no_data"] == "true"} == set(internet) & linked
    assert all(
        r["note"].startswith("không có dữ liệu / no data: ") for r in internet.values() if r["no_data"] == "true"
    )
    total = next(r for r in rows if r["indicator"] == "internet_units" and r["level"] == "all")
    assert (total["a"], total["b"]) == ("0", str(len(set(internet) - linked)))


def test_a_year_across_the_reorganisation_is_split_and_says_so(store: Store, config: Path, tmp_path: Path) -> None:
    inventory = load_reorg(store, tmp_path)
    rows = compute(store.engine, inventory, "2025", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    period = parse_period("2025", ZONE, NOW)
    path = tmp_path / "2025.xlsx"
    write_export(rows, path, Format.XLSX, period=period, level=None, catalog=CATALOG, generated_at=NOW)
    book = load_workbook(path)
    title = book[SHEETS["summary"]]["A1"].value
    assert isinstance(title, str)
    assert f"{SPLIT}: 2025-01-01..2025-06-30, 2025-07-01..2025-12-31" in title
    gaps = [[c.value for c in row] for row in book[SHEETS["discrepancies"]].iter_rows(min_row=3)]
    by_unit = {(row[0], row[1], row[4]): str(row[5]) for row in gaps}
    # H1: HL and X3 declare internet links that never answered (no data); H2: none, XN works 94.6 %
    assert by_unit[("internet_units", "HL", "2025-01-01..2025-06-30")].startswith(DECLARED_NOT_SEEN)
    assert by_unit[("internet_units", "X3", "2025-01-01..2025-06-30")].startswith(DECLARED_NOT_SEEN + " (không")
    assert by_unit[("internet_units", "STTTT", "2025-01-01..2025-06-30")] == DECLARED_NOT_SEEN  # 88.9 % < 90 %
    assert not [key for key in by_unit if key[0] == "internet_units" and key[2] == "2025-07-01..2025-12-31"]


def _soffice(source: Path, target: str, out: Path, *extra: str) -> Path:
    """Convert *source* with LibreOffice headless; *target* is xlsx, pdf or csv (written as UTF-8)."""
    spec = "csv:Text - txt - csv (StarCalc):44,34,76" if target == "csv" else target
    assert SOFFICE is not None
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{out / 'profile'}",
            "--headless",
            *extra,
            "--convert-to",
            spec,
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    produced = out / f"{source.stem}.{target}"
    assert produced.is_file(), done.stdout + done.stderr
    return produced


def _names_inventory(tmp_path: Path) -> Path:
    lines = ["units:", "  - {code: P, name: Tỉnh, level: province}"]
    lines += [f"  - {{code: T{i}, name: '{n}', level: department, parent: P}}" for i, n in enumerate(NAMES)]
    path = tmp_path / "names.yaml"
    path.write_text("\n".join(lines).replace("'=HYPERLINK", "'=HYPERLINK") + "\n", encoding="utf-8")
    return path


@needs_soffice
def test_libreoffice_reads_netmon_csv_names_as_text(tmp_path: Path) -> None:
    from netmon.inventory.plan import make_plan  # noqa: PLC0415
    from netmon.inventory.spec import Inventory  # noqa: PLC0415

    parsed = read_files([_names_inventory(tmp_path)])
    inventory = make_plan(Inventory({}, {}, {}), parsed, profiles=set(), prune=False).desired
    write_csv(inventory, tmp_path / "csv")
    control = tmp_path / "control.csv"
    control.write_text("code,name\nT0,=1+1\n", encoding="utf-8")  # what an unprotected writer produces
    out = tmp_path / "lo"
    opened = load_workbook(_soffice(tmp_path / "csv" / "units.csv", "xlsx", out, f"--infilter={_CSV_IN}"))
    raw = load_workbook(_soffice(control, "xlsx", out, f"--infilter={_CSV_IN}"))
    assert raw.worksheets[0]["B2"].data_type == "f"  # the control: LibreOffice does run =1+1 from a CSV
    sheet = opened.worksheets[0]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    for index, name in enumerate(NAMES):
        cell = cells[f"T{index}"]
        assert cell.data_type == "s", (name, cell.value)
        assert cell.value == "'" + name


@needs_soffice
def test_libreoffice_reads_netmon_xlsx_names_and_indicator_rows_as_text(store: Store, tmp_path: Path) -> None:
    parsed = read_files([_names_inventory(tmp_path)])
    store.import_parsed(parsed, profiles=set())
    inventory = store.snapshot()
    write_xlsx(inventory, tmp_path / "units.xlsx")
    rows = compute(store.engine, inventory, "live", level=None, zone=ZONE, now=NOW, definitions=CATALOG)
    period = parse_period("live", ZONE, NOW)
    report = tmp_path / "report.xlsx"
    write_export(rows, report, Format.XLSX, period=period, level=None, catalog=CATALOG, generated_at=NOW)
    control = tmp_path / "control.xlsx"
    book = Workbook()
    assert book.active is not None
    book.active["A1"] = "=1+1"  # openpyxl's default: a formula
    book.save(control)
    out = tmp_path / "lo"
    assert _soffice(control, "csv", out).read_text(encoding="utf-8").strip() == "2"  # the control runs
    text = _soffice(tmp_path / "units.xlsx", "csv", out).read_text(encoding="utf-8")
    names = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert names == ["Tỉnh", *NAMES]
    pdf = _soffice(report, "pdf", out)
    assert pdf.stat().st_size > 0
    level_sheet = load_workbook(report)["Sở ngành - Department"]
    shown = {c.value for row in level_sheet.iter_rows(min_row=3) for c in row if isinstance(c.value, str)}
    assert set(NAMES) <= shown
    formulas = [c for row in level_sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
