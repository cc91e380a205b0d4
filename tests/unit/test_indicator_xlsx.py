"""The indicator workbook as XlsxWriter writes it (netmon.indicators.xlsx), read back by openpyxl.

Hostile texts come from the inventory (unit names) and from notes: each must stay a text cell.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from netmon.config import INDICATOR_RULES
from netmon.indicators.definitions import load_catalog
from netmon.indicators.period import parse_period
from netmon.indicators.row import IndicatorRow
from netmon.indicators.xlsx import LEVEL_COLUMNS, LEVEL_SHEETS, SHEETS, write_xlsx
from netmon.inventory.models import Level

NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOG = load_catalog(rules=INDICATOR_RULES)
#: Texts a spreadsheet could take for something else: formulas, an error value, a link, and
#: XlsxWriter's own rich-string markup (copied unescaped by it: a broken file, or a formula).
HOSTILE = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "#N/A",
    "http://example.invalid/x",
    "<r>a & b</r>",
    "<r><t>x</t></r></is><f>1+1</f><is><r><t>y</t></r>",
    " leading and trailing ",
]


def _row(unit_name: str, *, rollup: bool = False, note: str = "") -> IndicatorRow:
    return IndicatorRow(
        indicator="lan_units",
        name_vi="Tỷ lệ",
        name_en="Share",
        unit=None if rollup else "W1",
        unit_name=None if rollup else unit_name,
        level="commune",
        period="live",
        a=1,
        b=4,
        ratio=0.25,
        applicable=True,
        measure="percent",
        framework="DTI",
        max_points=10.0,
        points=2.5,
        source="live monitoring",
        evidence_a=(unit_name,),
        note=note,
    )


@pytest.fixture
def book_path(tmp_path: Path) -> Path:
    path = tmp_path / "report.xlsx"
    rows = [_row(text, note=text) for text in HOSTILE] + [_row("", rollup=True)]
    write_xlsx(rows, path, period=parse_period("live", ZONE, NOW), catalog=CATALOG, generated_at=NOW)
    return path


def test_hostile_texts_stay_text(book_path: Path) -> None:
    book = load_workbook(book_path)  # a broken sheet XML would fail here
    communes = book[LEVEL_SHEETS[Level.COMMUNE]]
    names = [(r[4].value, r[4].data_type) for r in communes.iter_rows(min_row=3, max_row=2 + len(HOSTILE))]
    assert names == [(text, "s") for text in HOSTILE]
    notes = [r[11].value for r in communes.iter_rows(min_row=3, max_row=2 + len(HOSTILE))]
    assert notes == HOSTILE
    evidence = [r[4].value for r in book[SHEETS["evidence"]].iter_rows(min_row=3)]
    assert evidence == HOSTILE
    formulas = [c.coordinate for sheet in book for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert all(not c.hyperlink for sheet in book for row in sheet.iter_rows() for c in row)


def test_layout_fonts_fill_and_number_formats(book_path: Path) -> None:
    book = load_workbook(book_path)
    sheet = book[LEVEL_SHEETS[Level.COMMUNE]]
    assert sheet["A1"].font.b
    assert sheet["A1"].font.sz == 12
    header = sheet["A2"]
    assert (header.font.b, header.alignment.wrap_text, header.alignment.vertical) == (True, True, "top")
    assert (header.fill.patternType, header.fill.fgColor.rgb) == ("solid", "FFDDE4EE")
    # XlsxWriter stores Excel's column width with its 5-pixel padding: 30 characters are 30.71 in the XML
    assert sheet.column_dimensions["A"].width == pytest.approx(30 + 5 / 7, abs=0.01)
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:{chr(64 + len(LEVEL_COLUMNS))}2"
    assert sheet.print_title_rows == "$2:$2"
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
    assert sheet.page_setup.fitToWidth in {None, 1}  # one page wide: 1 is the schema's default, left out
    assert sheet.page_setup.fitToHeight == 0
    fit = sheet.sheet_properties.pageSetUpPr
    assert fit is not None
    assert fit.fitToPage
    plain, total = sheet[3], sheet[3 + len(HOSTILE)]
    assert [c.number_format for c in plain[5:10]] == ["#,##0", "#,##0", "0.00%", "0.00", "0.00"]
    assert [c.value for c in plain[5:10]] == [1, 4, 0.25, 10, 2.5]
    assert (total[4].value, total[4].font.b, total[7].font.b, total[7].number_format) == (
        "Tổng cấp / Level total",
        True,
        True,
        "0.00%",
    )
    assert total[11].value is None
    assert total[11].font.b  # an empty cell of a bold row keeps its format


def test_an_unwritable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot write"):
        write_xlsx(
            [_row("x")],
            tmp_path / "missing" / "report.xlsx",
            period=parse_period("live", ZONE, NOW),
            catalog=CATALOG,
            generated_at=NOW,
        )
