"""The PDF report: the charts' data, the pages as PNG (pdftoppm), the text with its diacritics (pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
import zoneinfo
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from netmon.cli import app
from netmon.config import load_config
from netmon.indicators.definitions import catalog_for
from netmon.indicators.period import parse_period
from netmon.indicators.report import write_report
from netmon.indicators.report_data import ReportData, collect, evidence_lines, months_of
from netmon.inventory.kinds import Level
from netmon.inventory.store import Store
from tests.conftest import EXAMPLE_CONFIG
from tests.integration.indicator_province import NOW, load_province
from tests.integration.reorg_province import NOW as REORG_NOW
from tests.integration.reorg_province import load_reorg

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is missing: make test installs Debian's poppler-utils"
    return path


def _text(pdf: Path) -> str:
    done = subprocess.run(
        [_tool("pdftotext"), "-layout", pdf, "-"], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def _pages(pdf: Path, folder: Path) -> list[Path]:
    subprocess.run([_tool("pdftoppm"), "-r", "40", "-png", pdf, folder / "page"], check=True, timeout=120)
    return sorted(folder.glob("page-*.png"))


@pytest.fixture
def data(store: Store, tmp_path: Path) -> ReportData:
    inventory = load_province(store, tmp_path)
    catalog = catalog_for(load_config(None, environ={}).indicators)
    period = parse_period("2026-Q4", ZONE, NOW)
    return collect(store.engine, inventory, period, level=None, zone=ZONE, now=NOW, catalog=catalog)


def test_the_charts_get_the_province_s_numbers(data: ReportData) -> None:
    assert [label for label, _ in data.months] == ["2026-10", "2026-11"]
    coverage = data.coverage()
    assert list(coverage) == ["LAN", "Internet", "WAN/MAN", "TSLCD", "Hội nghị truyền hình / VC"]
    assert coverage["LAN"] == {
        "department": [1.0, 1.0],
        "district": [1.0, 1.0],
        "province": [1.0, 1.0],
        "commune": [0, 0],
    }
    assert coverage["Internet"]["province"] == [1.0, 0.0]  # p-inet down from 11-05: under 90 % of November so far
    assert coverage["Hội nghị truyền hình / VC"]["province"] == [0.0, 1.0]  # p-vc1 down 20 days of October
    availability = data.link_availability()
    assert availability["LAN"] == 1.0
    # up / (up + down) over p-inet (down 2 days in October and 11-05..11-10) and d1-inet (always up);
    # h1-inet has no history. The quarter so far is 2026-09-30T17Z .. NOW: 40 days 7 hours.
    days = 40 + 7 / 24
    assert availability["Internet"] == pytest.approx(1 - 7 / (2 * days))
    worst = data.worst_units()
    # H1's Internet link has no history: "no data" (issue 16) leaves that indicator out of its score
    assert [code for code, _, _ in worst] == ["W1", "D2", "P", "D1", "H1"]
    assert worst[0] == ("W1", "Xã Một", 0.0)
    assert data.outages_by_cause() == {"down": (7, 1464.0), "maintenance": (1, 24.0), "unreachable": (2, 168.0)}


def test_the_pdf_pages_and_their_text(data: ReportData, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pages = write_report(data, pdf)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []  # no temporary left
    pngs = _pages(pdf, tmp_path)
    assert len(pngs) == pages >= 6
    for png in pngs:
        with Image.open(png) as image:
            assert image.height / image.width == pytest.approx(297 / 210, abs=0.01)  # A4 portrait
    text = _text(pdf)
    for words in ("Tỷ lệ", "xã", "Xã Một", "Tỉnh Thử", "Sở Hai", "Quy tắc tính / Accounting rules", "Bảng chỉ số"):
        assert words in text
    assert "Tỷ lệ cơ quan, đơn vị có mạng nội bộ (LAN): 4/5 = 80.00 %" in text
    internet = data.link_availability()["Internet"]
    assert internet is not None
    assert f"{internet * 100:.2f} %" in text  # the Internet availability bar's label
    assert "7 (1464.0 h)" in text
    assert "1 (24.0 h)" in text


@pytest.mark.parametrize(
    ("period", "months"),
    [
        ("2026-10", ["2026-10"]),
        ("2026-Q4", ["2026-10", "2026-11"]),  # clipped to NOW (2026-11-10)
        ("2026-Q3", ["2026-07", "2026-08", "2026-09"]),
        ("2025", [f"2025-{m:02d}" for m in range(1, 13)]),
        ("live", []),
    ],
    ids=["month", "running-quarter", "quarter", "year", "live"],
)
def test_months_of_a_period(period: str, months: list[str]) -> None:
    assert months_of(parse_period(period, ZONE, NOW), ZONE) == months


def _run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], env={"NETMON_CONFIG": None})


@pytest.fixture
def config(tmp_path: Path, store: Store, db_url: str) -> Path:
    load_province(store, tmp_path)
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {db_url}")
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_writes_the_report_for_a_level(config: Path, tmp_path: Path) -> None:
    result = _run("report", "--period", "2026-10", "--level", "commune", "-o", tmp_path / "oct.pdf", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert f"wrote {tmp_path / 'oct.pdf'}" in result.stderr
    text = _text(tmp_path / "oct.pdf")
    assert "Kỳ báo cáo / Period: 2026-10" in text
    assert "Cấp / Level: xã" in text


def test_cli_says_it_replaced_an_existing_report(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "oct.pdf"
    path.write_bytes(b"%PDF-1.4 an older report\n")
    result = _run("report", "--period", "2026-10", "-o", path, "-c", config)
    assert result.exit_code == 0, result.stderr
    assert f"note: replaced the existing file {path}" in result.stderr
    assert "Kỳ báo cáo / Period: 2026-10" in _text(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-10", "-o", "oct.xlsx"], "give a file name ending in .pdf"),
        (["--period", "2026-13", "-o", "oct.pdf"], "2026-13"),
        (["--period", "2026-10", "-o", "nowhere/oct.pdf"], "no folder"),
        (["--period", "2026-10", "-o", "/proc/oct.pdf"], "/proc/oct.pdf: cannot write it"),
    ],
    ids=["not-pdf", "bad-period", "no-folder", "unwritable-folder"],
)
def test_cli_bad_input_exits_2_and_writes_nothing(
    config: Path, tmp_path: Path, monkeypatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    result = _run("report", *args, "-c", config)
    assert result.exit_code == 2
    assert message in result.stderr
    assert set(tmp_path.iterdir()) == before


def test_a_split_year_s_availability_covers_both_parts_and_the_pdf_names_them(store: Store, tmp_path: Path) -> None:
    """2025 splits at 2025-07-01 (tests/integration/reorg_province.py): the PDF said the second half only.

    Internet links judged, level `all`: the first part (181 days) nb, nd, sk, st and x1-inet,
    st-inet down 20 days: 885 of 905 link-days up; the second part (184 days) the same five
    links in their successors, x1-inet down 10 days: 910 of 920. The year: 1795 / 1825 (98.4 %),
    not 910 / 920 (98.9 %). hl-inet and x3-inet have no history: in neither.
    """
    inventory = load_reorg(store, tmp_path)
    catalog = catalog_for(load_config(None, environ={}).indicators)
    period = parse_period("2025", ZONE, REORG_NOW)
    data = collect(store.engine, inventory, period, level=None, zone=ZONE, now=REORG_NOW, catalog=catalog)
    first, second = "2025-01-01..2025-06-30", "2025-07-01..2025-12-31"
    assert data.parts == [first, second]
    assert data.link_availability()["Internet"] == pytest.approx(1795 / 1825)
    lines = evidence_lines(data.rollups)
    assert any(line.startswith(f"internet_units [all {first}] a: unit:NB (link:nb-inet up") for line in lines)
    assert any(line.startswith(f"internet_units [all {second}] a: unit:NB (link:nb-inet up") for line in lines)
    # ND merged into NB: the province the report is for is the one in force at the period's end
    assert data.province == "Tỉnh Ninh Bình"
    pdf = tmp_path / "report.pdf"
    write_report(data, pdf)
    text = _text(pdf)
    assert "98.36 %" in text  # the Internet availability bar's label: 1795/1825, 2 decimals (99.95 % is not 100 %)
    # NB, ND, SKHCN, X1 of NB, ND, SKHCN, STTTT (161/181 days up < 90 %), X1, X2 (no link); HL, X3 no data
    assert f"[{first}] Tỷ lệ cơ quan, đơn vị có kết nối Internet: 4/6 = 66.67 %" in text
    # NB, SKHCN, XN (x1-inet 174/184 days) of NB, SKHCN, XN, PT (no link)
    assert f"[{second}] Tỷ lệ cơ quan, đơn vị có kết nối Internet: 3/4 = 75.00 %" in text
    assert "Phần kỳ / Part" in text
    # the points of each part against that part's maximum, not one sum over both parts
    assert f"Điểm / Points (tất cả, {first}):" in text
    assert f"Điểm / Points (tất cả, {second}):" in text


def test_a_level_s_report_sums_up_that_level_in_its_own_units(store: Store, tmp_path: Path) -> None:
    """--level department: the cover and the availability chart read the department roll-up (there is no `all`).

    2026-Q4 to NOW (40 days 7 hours = 3,481,200 s): D1's d1-inet is up throughout, so the
    department's Internet availability is 100 %; D1 and D2 are 2 units, D1 has a LAN (a switch
    up), D2 a declared lan link: 2/2. Internet Mbps per civil servant, D1 + D2: 50 / 25 = 2.00
    per person, not "200.0 %"; a and b are written in full, not as 3.4812e+06.
    """
    inventory = load_province(store, tmp_path)
    catalog = catalog_for(load_config(None, environ={}).indicators)
    period = parse_period("2026-Q4", ZONE, NOW)
    data = collect(store.engine, inventory, period, level=Level.DEPARTMENT, zone=ZONE, now=NOW, catalog=catalog)
    assert data.link_availability()["Internet"] == 1.0
    pdf = tmp_path / "report.pdf"
    write_report(data, pdf)
    text = _text(pdf)
    assert "Tỷ lệ cơ quan, đơn vị có mạng nội bộ (LAN): 2/2 = 100.00 %" in text
    assert "Điểm / Points (sở, ngành):" in text
    assert "3 481 200" in text  # d1-inet's seconds up and judged
    assert "e+0" not in text
    mbps = next(line for line in text.splitlines() if line.startswith("Băng thông Internet bình quân"))
    assert mbps.split()[-1] == "2.00", mbps


def test_a_level_s_report_counts_the_outages_of_that_level_s_units(store: Store, tmp_path: Path) -> None:
    """The cover's outages by cause counted every level's outages in a --level report.

    The ledger of the province's fixture (down, unreachable and maintenance alike): p-sw1, p-vc1,
    p-srv1, p-inet (twice) and p-tslcd are the province's; h1-r1, h1-vc1 (twice) and h1-man are
    district H1's; the departments D1 and D2 had none.
    """
    inventory = load_province(store, tmp_path)
    catalog = catalog_for(load_config(None, environ={}).indicators)
    period = parse_period("2026-Q4", ZONE, NOW)

    def outages(level: Level | None) -> list[str]:
        data = collect(store.engine, inventory, period, level=level, zone=ZONE, now=NOW, catalog=catalog)
        return sorted(outage.name for outage in data.outages)

    district = ["h1-man", "h1-r1", "h1-vc1", "h1-vc1"]
    province = ["p-inet", "p-inet", "p-srv1", "p-sw1", "p-tslcd", "p-vc1"]
    assert outages(None) == district + province
    assert outages(Level.DISTRICT) == district
    assert outages(Level.PROVINCE) == province
    assert outages(Level.DEPARTMENT) == []
