"""The streaming XLSX writer (netmon.indicators.xlsxstream), read back by openpyxl."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from netmon.indicators.xlsxstream import XlsxStream


def test_texts_stay_text_numbers_keep_their_formats_and_the_layout_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with XlsxStream(path) as book:
        percent, bold = book.style(number_format="0.0%"), book.style(font="bold")
        with book.sheet("Tổng hợp 'A'", widths=[20, 12.5], freeze_row=3, header_row=2) as out:
            out.row(["title"], book.style(font="title"))
            out.row(["id", "value"], book.style(font="bold", fill="DDE4EE", wrap=True))
            out.row(["=1+1", 0.125], [0, percent])
            out.row(["#N/A", 3], bold)
            out.row(["a\x01b <&> ", None, "x"])
        with book.sheet("Empty", widths=[]) as out:
            out.row([])
    loaded = load_workbook(path)
    assert loaded.sheetnames == ["Tổng hợp 'A'", "Empty"]
    sheet = loaded["Tổng hợp 'A'"]
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("=1+1", "s")  # never a formula
    assert (sheet["A4"].value, sheet["A4"].data_type) == ("#N/A", "s")  # never an error value
    assert (sheet["B3"].value, sheet["B3"].number_format) == (0.125, "0.0%")
    assert (sheet["B4"].value, sheet["B4"].font.b) == (3, True)
    assert [c.value for c in sheet[5]] == ["a b <&> ", None, "x"]  # control characters become spaces
    assert sheet["A1"].font.sz == 12
    assert (sheet["A2"].font.b, sheet["A2"].alignment.wrap_text, sheet["A2"].fill.fgColor.rgb) == (
        True,
        True,
        "00DDE4EE",
    )
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (20, 12.5)
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:B2"
    assert sheet.print_title_rows == "$2:$2"
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
    fit = sheet.sheet_properties.pageSetUpPr
    assert fit is not None
    assert fit.fitToPage


def test_one_sheet_at_a_time_and_known_fills_only(tmp_path: Path) -> None:
    with XlsxStream(tmp_path / "b.xlsx") as book:
        first = book.sheet("a", widths=[1])
        with pytest.raises(RuntimeError, match="previous sheet"):
            book.sheet("b", widths=[1])
        first.close()
        with pytest.raises(ValueError, match="fill"):
            book.style(fill="FF0000")
