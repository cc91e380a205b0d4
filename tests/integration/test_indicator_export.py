"""Indicator exports: the XLSX cell by cell and through LibreOffice, CSV/JSON parity, the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from netmon.cli import app
from netmon.config import INDICATOR_RULES
from netmon.indicators.compute import live_rows
from netmon.indicators.definitions import load_catalog
from netmon.indicators.export import COLUMNS, Format, atomic_path, render_csv, write_export
from netmon.indicators.period import parse_period
from netmon.indicators.row import IndicatorRow
from netmon.indicators.xlsx import NOT_APPLICABLE
from netmon.inventory.store import Store
from netmon.monitor.state import State
from tests.conftest import EXAMPLE_CONFIG
from tests.integration.indicator_province import load_province, province

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
CATALOG = load_catalog(rules=INDICATOR_RULES)
#: A live picture of the fixture province: P's router, switch and internet link up, H1's router down.
STATES = {
    ("device", "p-r1"): State.UP,
    ("device", "p-sw1"): State.UP,
    ("link", "p-inet"): State.UP,
    ("device", "h1-r1"): State.DOWN,
}
SOFFICE = shutil.which("soffice") or shutil.which("/usr/lib/libreoffice/program/soffice")
#: The XML width of a column that Excel shows as 30 characters wide: XlsxWriter adds Excel's
#: 5-pixel padding (Calibri 11: 7 pixels a digit).
_STORED_30 = 30 + 5 / 7


@pytest.fixture
def rows(tmp_path: Path) -> list[IndicatorRow]:
    return live_rows(province(tmp_path), STATES, CATALOG)


@pytest.fixture
def xlsx(tmp_path: Path, rows: list[IndicatorRow]) -> Path:
    path = tmp_path / "out" / "indicators.xlsx"
    path.parent.mkdir()  # an export makes no directories (a typo in -o is an input error)
    period = parse_period("live", ZONE, NOW)
    write_export(rows, path, Format.XLSX, period=period, level=None, catalog=CATALOG, generated_at=NOW)
    return path


def test_xlsx_sheets_headers_values_and_formats(xlsx: Path) -> None:
    book = load_workbook(xlsx)
    assert book.sheetnames == [
        "Tổng hợp - Summary",
        "Cấp tỉnh - Province",
        "Sở ngành - Department",
        "Cấp huyện - District",
        "Cấp xã - Commune",
        "Bằng chứng - Evidence",
        "Bảo trì - Maintenance",
        "Chênh lệch - Discrepancies",
        "Quy tắc - Rules",
    ]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3", sheet.title
        assert sheet["A1"].value.startswith("Chỉ tiêu hạ tầng / Infrastructure indicators — kỳ / period live")
        if sheet.title == "Bảo trì - Maintenance":  # windows, not indicators: its own columns
            assert sheet["A2"].value == "Tên cửa sổ / Window name"
            assert sheet.max_row == 2  # no window given: headers only
            continue
        assert sheet["A2"].value == "Mã chỉ tiêu / Indicator id"
        assert sheet["A2"].font.b
        assert sheet.column_dimensions["A"].width == pytest.approx(_STORED_30, abs=0.01)

    summary = book["Tổng hợp - Summary"]
    assert [c.value for c in summary[2]] == [
        "Mã chỉ tiêu / Indicator id",
        "Tên chỉ tiêu / Indicator (vi)",
        "Indicator (en) / Tên tiếng Anh",
        "Cấp / Level",
        "Kỳ / Period",
        "a (tử số / numerator)",
        "b (mẫu số / denominator)",
        "Tỷ lệ / Ratio",
        "Điểm tối đa / Max points",
        "Điểm / Points",
        "Đơn vị đo / Measure",
        "Khung / Framework",
        "Nguồn dữ liệu / Data source",
        "Ghi chú / Note",
        "Khai báo / Declared",
        "Phần kỳ / Part",
    ]
    assert summary.column_dimensions["B"].width == pytest.approx(52 + 5 / 7, abs=0.01)
    # lan_units: P (p-lan declared), D2 (d2-lan declared): P, D2 count; D1's switch has no state, H1's router is down
    assert [c.value for c in summary[3]] == [
        "lan_units",
        "Tỷ lệ cơ quan, đơn vị có mạng nội bộ (LAN)",
        "Share of units with a LAN",
        "province",
        "live",
        1,
        1,
        1.0,
        10.0,
        10.0,
        "percent",
        "DTI",
        "live monitoring",
        None,
        1,  # declared: P declares p-lan
        None,
    ]
    assert [summary.cell(3, col).number_format for col in range(6, 11)] == ["#,##0", "#,##0", "0.00%", "0.00", "0.00"]
    assert [c.value for c in summary[4]][3:10] == ["department", "live", 1, 2, 0.5, 10.0, 5.0]
    assert [c.value for c in summary[7]][3:10] == ["all", "live", 2, 5, 0.4, 10.0, 4.0]
    by_key = {(r[0].value, r[3].value): r for r in summary.iter_rows(min_row=3)}
    ward = by_key[("computers_per_staff", "commune")]
    assert [c.value for c in ward][5:10] == [3, 0, None, None, None]
    assert ward[13].value == NOT_APPLICABLE
    assert ward[7].number_format == "0.00"
    servers = by_key[("servers", "all")]
    assert [c.value for c in servers][5:10] == [3, None, None, None, None]
    assert servers[10].value == "count"
    assert summary.max_row == 2 + 19 * 5  # four levels and all, per indicator

    wards = book["Cấp xã - Commune"]
    assert [c.value for c in wards[2]][3:5] == ["Mã đơn vị / Unit code", "Tên đơn vị / Unit name"]
    assert [c.value for c in wards[3]][:8] == [
        "lan_units",
        *[c.value for c in summary[3]][1:3],
        "W1",
        "Xã Một",
        0,
        1,
        0.0,
    ]
    assert [c.value for c in wards[4]][3:8] == [None, "Tổng cấp / Level total", 0, 1, 0.0]
    assert wards["E4"].font.b

    evidence = book["Bằng chứng - Evidence"]
    assert [c.value for c in evidence[3]] == [
        "lan_units", "P", "province", "a", "unit:P (link:p-lan (lan) declared)", None,
    ]  # fmt: skip
    assert [c.value for c in evidence[4]] == ["lan_units", "P", "province", "b", "unit:P", None]  # a whole period

    rules = book["Quy tắc - Rules"]
    assert rules["A3"].value == "lan_units"
    assert rules["I3"].value.startswith("Đơn vị được tính là có LAN khi")
    assert "at least 90% of the period" in rules["J3"].value
    assert json.loads(rules["K3"].value)["denominator"] == {"units": "all"}
    assert rules["I3"].alignment.wrap_text
    thresholds = {r[0].value: (r[1].value, r[1].number_format) for r in rules.iter_rows(min_row=3 + 19 + 2)}
    assert thresholds == {"connected_min_up": (0.9, "0%"), "lan_min_up": (0.9, "0%"), "vc_min_up": (0.5, "0%")}


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed: scripts/ensure-system.sh libreoffice-calc")
def test_libreoffice_converts_the_xlsx_to_pdf(xlsx: Path, tmp_path: Path) -> None:
    assert SOFFICE is not None
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "pdf" / "indicators.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf.stat().st_size > 10_000


def test_csv_and_json_carry_the_same_rows(tmp_path: Path, rows: list[IndicatorRow]) -> None:
    period = parse_period("live", ZONE, NOW)
    for fmt in (Format.CSV, Format.JSON):
        write_export(rows, tmp_path / f"i.{fmt}", fmt, period=period, level=None, catalog=CATALOG, generated_at=NOW)
    raw = (tmp_path / "i.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a UTF-8 BOM, so that Excel shows Vietnamese
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    document = json.loads((tmp_path / "i.json").read_text(encoding="utf-8"))
    assert document["period"]["label"] == "live"
    assert [IndicatorRow.from_dict(r) for r in document["rows"]] == rows
    assert len(table) == len(rows) == len(document["rows"])
    assert tuple(table[0]) == COLUMNS
    for line, data in zip(table, document["rows"], strict=True):
        assert (line["indicator"], line["unit"] or None, line["level"]) == (
            data["indicator"],
            data["unit"],
            data["level"],
        )
        assert line["ratio"] == ("" if data["ratio"] is None else str(data["ratio"]))
        assert line["b"] == ("" if data["b"] is None else str(data["b"]))
        assert line["evidence_a"] == " | ".join(data["evidence_a"])
    na = next(r for r in document["rows"] if r["indicator"] == "computers_per_staff" and r["level"] == "commune")
    assert (na["a"], na["b"], na["ratio"], na["applicable"], na["points"]) == (3, 0, None, False, None)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, rows: list[IndicatorRow]) -> None:
    target = tmp_path / "reports" / "i.csv"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk full"):
        _write_then_fail(target, render_csv(rows)[:100])
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["i.csv"]


def _write_then_fail(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
        raise RuntimeError("disk full")


# ---- CLI ---------------------------------------------------------------------------------------


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"NETMON_CONFIG": None})


@pytest.fixture
def config(tmp_path: Path, store: Store, db_url: str) -> Path:
    """The example config on this test's database, holding the fixture province and its history."""
    load_province(store, tmp_path)
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {db_url}")
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_exports_csv_json_xlsx(config: Path, tmp_path: Path) -> None:
    for suffix in ("csv", "json", "xlsx"):
        result = run("export", "indicators", "--period", "2026-10", "-o", tmp_path / f"oct.{suffix}", "-c", config)
        assert result.exit_code == 0, result.stderr
        assert f"for 2026-10 to {tmp_path / f'oct.{suffix}'}" in result.stderr
    document = json.loads((tmp_path / "oct.json").read_text(encoding="utf-8"))
    rolled = {(r["indicator"], r["level"]): (r["a"], r["b"]) for r in document["rows"] if r["unit"] is None}
    assert rolled[("lan_units", "all")] == (4, 5)
    assert rolled[("internet_units", "department")] == (1, 2)
    with (tmp_path / "oct.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(document["rows"])
    assert load_workbook(tmp_path / "oct.xlsx")["Tổng hợp - Summary"]["E3"].value == "2026-10"

    only = run("export", "indicators", "-p", "2026-Q4", "--level", "commune", "-f", "json", "-o", "-", "-c", config)
    assert only.exit_code == 0, only.stderr
    data = json.loads(only.stdout)
    assert data["level"] == "commune"
    assert data["period"]["complete"] is False
    assert {r["level"] for r in data["rows"]} == {"commune"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--period", "2026-Q5", "-o", "x.csv"],
            "netmon: bad period '2026-Q5': expected YYYY, YYYY-Qn, YYYY-MM or live",
        ),
        (["--period", "2030", "-o", "x.csv"], "netmon: period '2030' has not begun yet"),
        (["--period", "2026", "-o", "x.txt"], "netmon: cannot tell the format of 'x.txt': give --format csv|xlsx|json"),
        (["--period", "2026", "-f", "xlsx", "-o", "-"], "netmon: XLSX cannot go to stdout"),
    ],
    ids=["bad-period", "future-period", "unknown-suffix", "xlsx-stdout"],
)
def test_cli_bad_input_exits_2_and_writes_nothing(config: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("export", "indicators", *[str(tmp_path / a) if a.startswith("x.") else a for a in args], "-c", config)
    assert result.exit_code == 2
    assert result.stderr.startswith(message.replace("'x.txt'", repr(str(tmp_path / "x.txt"))))
    assert not list(tmp_path.glob("x.*"))


def test_cli_help_has_an_example() -> None:
    result = run("export", "indicators", "--help")
    assert result.exit_code == 0
    assert "Example: netmon export indicators --period 2026-Q3" in result.stdout
    assert "--config" in result.stdout
