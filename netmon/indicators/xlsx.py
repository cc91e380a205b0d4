"""The XLSX report: summary, one sheet per level, evidence, maintenance, discrepancies and rules; bilingual, A4.

Written by XlsxWriter in its `constant_memory` mode: each row goes to a temporary file as soon as
the next one starts, strings inline, so a 10,000-device province (~47,000 rows, ~850,000 cells)
stays in little memory (issue 12: under 5 s and 150 MB). Sheets are written top to bottom, one
after the other.

A text is always a text cell, never a formula or a link (OWASP "CSV injection", which spreadsheets
share): every text goes through `write_string`, with the workbook's `strings_to_formulas` and
`strings_to_urls` off as well.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from netmon.indicators.definitions import Catalog, share_decimals
from netmon.indicators.period import Period
from netmon.indicators.row import IndicatorRow
from netmon.inventory.models import Level
from netmon.monitor.maintenance import Window

__all__ = [
    "CONFIG_AUTHOR",
    "DECLARED_NOT_SEEN",
    "DISCREPANCY_COLUMNS",
    "EVIDENCE_COLUMNS",
    "LEVEL_COLUMNS",
    "LEVEL_SHEETS",
    "LEVEL_TOTAL",
    "MAINTENANCE_COLUMNS",
    "NOT_APPLICABLE",
    "RATIO_FORMATS",
    "RULE_COLUMNS",
    "SEEN_NOT_DECLARED",
    "SHEETS",
    "SPLIT",
    "SUMMARY_COLUMNS",
    "write_xlsx",
]

#: Sheet names (at most 31 characters, none of \\ / ? * [ ] :).
SHEETS = {
    "summary": "Tổng hợp - Summary",
    "evidence": "Bằng chứng - Evidence",
    "maintenance": "Bảo trì - Maintenance",
    "discrepancies": "Chênh lệch - Discrepancies",
    "rules": "Quy tắc - Rules",
}
LEVEL_SHEETS = {
    Level.PROVINCE: "Cấp tỉnh - Province",
    Level.DEPARTMENT: "Sở ngành - Department",
    Level.DISTRICT: "Cấp huyện - District",
    Level.COMMUNE: "Cấp xã - Commune",
}
#: The number format of the ratio column, by unit of measure.
RATIO_FORMATS = {"percent": "0.00%", "per_person": "0.00", "mbps_per_person": "0.00", "count": "#,##0"}
NOT_APPLICABLE = "không áp dụng (b = 0) / not applicable (b = 0)"
SPLIT = "kỳ được chia theo cơ cấu tổ chức tại thời điểm / period split by the structure in force"
_COUNT = "#,##0"
_POINTS = "0.00"
_HEADER_ROW = 2
_HEADER_FILL = "#DDE4EE"

#: (header, width) of the columns shared by the summary and the level sheets.
_ID = ("Mã chỉ tiêu / Indicator id", 30)
_NAMES = [("Tên chỉ tiêu / Indicator (vi)", 52), ("Indicator (en) / Tên tiếng Anh", 44)]
_VALUES = [
    ("a (tử số / numerator)", 14),
    ("b (mẫu số / denominator)", 14),
    ("Tỷ lệ / Ratio", 12),
    ("Điểm tối đa / Max points", 12),
    ("Điểm / Points", 10),
]
_TAIL = [("Nguồn dữ liệu / Data source", 20), ("Ghi chú / Note", 44)]
#: Appended after the note: declared (inventory) beside the verified a, and the part of a split period.
_EXTRA = [("Khai báo / Declared", 12), ("Phần kỳ / Part", 24)]
SUMMARY_COLUMNS = [
    _ID,
    *_NAMES,
    ("Cấp / Level", 12),
    ("Kỳ / Period", 10),
    *_VALUES,
    ("Đơn vị đo / Measure", 16),
    ("Khung / Framework", 12),
    *_TAIL,
    *_EXTRA,
]
LEVEL_COLUMNS = [
    _ID,
    *_NAMES,
    ("Mã đơn vị / Unit code", 14),
    ("Tên đơn vị / Unit name", 40),
    *_VALUES,
    *_TAIL,
    *_EXTRA,
]
DISCREPANCY_COLUMNS = [
    _ID,
    ("Mã đơn vị / Unit code", 14),
    ("Tên đơn vị / Unit name", 40),
    ("Cấp / Level", 12),
    ("Phần kỳ / Part", 24),
    ("Chênh lệch / Discrepancy", 60),
    ("Được tính / Counted", 60),
]
DECLARED_NOT_SEEN = "khai báo nhưng không thấy hoạt động / declared but never seen working"
SEEN_NOT_DECLARED = "hoạt động nhưng không khai báo / working but not declared"
EVIDENCE_COLUMNS = [
    _ID,
    ("Mã đơn vị / Unit code", 14),
    ("Cấp / Level", 12),
    ("Số hạng / Term", 10),
    ("Được tính / Counted", 70),
    ("Phần kỳ / Part", 24),
]
RULE_COLUMNS = [
    _ID,
    *_NAMES,
    ("Khung / Framework", 12),
    ("Đơn vị đo / Measure", 16),
    ("Điểm tối đa / Max points", 12),
    ("Cấp áp dụng / Levels", 22),
    ("Nguồn dữ liệu / Data source", 20),
    ("Quy tắc tính (vi)", 60),
    ("Accounting rule (en)", 60),
    ("Công thức / Formula", 60),
]
MAINTENANCE_COLUMNS = [
    ("Tên cửa sổ / Window name", 30),
    ("Đối tượng / Objects", 40),
    ("Bắt đầu / Start", 24),
    ("Kết thúc / End", 24),
    ("Người tạo / Author", 22),
    ("Lý do / Reason", 50),
]
#: The author shown for a config window (the config file has no author).
CONFIG_AUTHOR = "config"
LEVEL_TOTAL = "Tổng cấp / Level total"

#: What the report writes in a cell.
_Value = str | float | None
#: XlsxWriter's options: texts stay texts (never formulas, links or numbers); rows stream to temporary files.
_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def write_xlsx(
    rows: Sequence[IndicatorRow],
    path: Path,
    *,
    period: Period,
    catalog: Catalog,
    generated_at: datetime,
    windows: Sequence[Window] = (),
) -> None:
    """Write the report workbook to *path* (the caller makes it atomic).

    *windows* are the maintenance windows that overlap the period (the caller selects them).
    Raises OSError when *path* or the temporary row files cannot be written.
    """
    zone = ZoneInfo(period.zone)
    start, end = period.start.astimezone(zone), period.end.astimezone(zone)
    span = "trực tuyến / live" if period.live else f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} ({period.zone})"
    stamp = f"{generated_at.astimezone(zone):%Y-%m-%d %H:%M} {period.zone}"
    title = f"Chỉ tiêu hạ tầng / Infrastructure indicators — kỳ / period {period.label}: {span}; lập / made {stamp}"
    if not period.complete:
        title += " — kỳ chưa kết thúc / period not over"
    parts = sorted({row.part for row in rows if row.part})
    if parts:
        title += f" — {SPLIT}: {', '.join(parts)}"
    with tempfile.TemporaryDirectory(prefix="netmon-xlsx-") as scratch:  # the rows, until close() zips them
        book = xlsxwriter.Workbook(str(path), {**_OPTIONS, "tmpdir": scratch})
        try:
            _write_sheets(book, rows, title=title, catalog=catalog, windows=windows, zone=zone)
            book.close()
        except FileCreateError as exc:  # XlsxWriter wraps the OSError of writing the file
            raise OSError(f"cannot write {path}: {exc}") from exc
        finally:
            for sheet in book.worksheets():
                sheet._opt_close()  # XlsxWriter closes the row files only when close() succeeds


def _write_sheets(
    book: xlsxwriter.Workbook,
    rows: Sequence[IndicatorRow],
    *,
    title: str,
    catalog: Catalog,
    windows: Sequence[Window],
    zone: ZoneInfo,
) -> None:
    styles = _Styles(book)
    summary = _sheet(book, styles, SHEETS["summary"], title, SUMMARY_COLUMNS)
    for row in rows:
        if row.rollup:
            head = [row.indicator, row.name_vi, row.name_en, row.level, row.period]
            tail = [row.measure, row.framework, row.source, _note(row), row.declared, row.part]
            summary.row([*head, *_values(row), *tail], styles.numbers(row.measure, first=5))
    for level, name in LEVEL_SHEETS.items():
        mine = [row for row in rows if row.level == level.value]
        if mine:
            _level_sheet(_sheet(book, styles, name, title, LEVEL_COLUMNS), styles, mine)
    _evidence_sheet(_sheet(book, styles, SHEETS["evidence"], title, EVIDENCE_COLUMNS), rows)
    _maintenance_sheet(_sheet(book, styles, SHEETS["maintenance"], title, MAINTENANCE_COLUMNS), windows, zone)
    _discrepancy_sheet(_sheet(book, styles, SHEETS["discrepancies"], title, DISCREPANCY_COLUMNS), rows)
    _rules_sheet(_sheet(book, styles, SHEETS["rules"], title, RULE_COLUMNS), styles, catalog)


class _Styles:
    """The report's cell formats in one workbook: title, header, bold, wrapped, and number formats per measure."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.title = book.add_format({"bold": True, "font_size": 12})
        self.header = book.add_format(
            {"bold": True, "bg_color": _HEADER_FILL, "pattern": 1, "text_wrap": True, "valign": "top"}
        )
        self.plain = book.add_format()
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.shares: dict[int, Format] = {}
        self._numbers: dict[tuple[str, bool, int, int], list[Format | None]] = {}

    def share_of(self, value: float) -> Format:
        """Return the percentage format that shows threshold *value* in full: 0% for 0.9, 0.0% for 0.999."""
        decimals = share_decimals(value)
        if decimals not in self.shares:
            self.shares[decimals] = self.book.add_format(
                {"num_format": "0" + ("." + "0" * decimals if decimals else "") + "%"}
            )
        return self.shares[decimals]

    def numbers(self, measure: str, *, first: int, width: int = 16, bold: bool = False) -> list[Format | None]:
        """Return the format of each of *width* cells: a, b, ratio, max points, points from column *first* (0-based).

        The lists are made once per (measure, bold, first, width) and shared: do not change them.
        """
        key = (measure, bold, first, width)
        if key not in self._numbers:
            formats = [_COUNT, _COUNT, RATIO_FORMATS.get(measure, "0.00"), _POINTS, _POINTS]
            cells: list[Format | None] = [self.bold if bold else None] * width
            for offset, number_format in enumerate(formats):
                cells[first + offset] = self.book.add_format({"bold": bold, "num_format": number_format})
            self._numbers[key] = cells
        return self._numbers[key]


class _Sheet:
    """One worksheet written top to bottom: `row()` appends the next row."""

    def __init__(self, sheet: Worksheet, plain: Format) -> None:
        self._sheet, self._plain = sheet, plain
        self._at = 0  # the next row, 0-based

    def row(self, values: Sequence[_Value], formats: Format | Sequence[Format | None] | None = None) -> None:
        """Append a row: *formats* is one format for every cell, or one per value.

        None and "" write no cell (a formatted empty cell keeps its format); a text is always a text cell.
        """
        at, sheet = self._at, self._sheet
        self._at += 1
        per_cell = formats if isinstance(formats, Sequence) else None
        for col, value in enumerate(values):
            fmt = per_cell[col] if per_cell is not None else formats
            if value is None or value == "":
                if fmt is not None:
                    sheet.write_blank(at, col, None, fmt)
            elif isinstance(value, str):
                if value.startswith("<r>") and value.endswith("</r>"):
                    _write_lookalike(sheet, at, col, value, fmt or self._plain)
                else:
                    sheet.write_string(at, col, value, fmt)
            else:
                sheet.write_number(at, col, value, fmt)


def _write_lookalike(sheet: Worksheet, at: int, col: int, text: str, fmt: Format) -> None:
    """Write a text that looks like XlsxWriter's own rich-string XML ("<r>...</r>") as text.

    XlsxWriter (3.3) copies such a string into the sheet unescaped, so a unit name could break the
    file or inject a formula; written as two runs in the cell's font, it is escaped like any text.
    """
    sheet.write_rich_string(at, col, fmt, text[:3], fmt, text[3:], fmt)


def _sheet(
    book: xlsxwriter.Workbook, styles: _Styles, name: str, title: str, columns: Sequence[tuple[str, int]]
) -> _Sheet:
    """Start a sheet laid out for A4 landscape: widths, the title, the header row (frozen, filtered, printed)."""
    sheet = book.add_worksheet(name)
    for col, (_, width) in enumerate(columns):
        sheet.set_column(col, col, width)
    top = _HEADER_ROW - 1  # XlsxWriter counts rows and columns from 0
    sheet.freeze_panes(top + 1, 0)
    sheet.autofilter(top, 0, top, len(columns) - 1)
    sheet.repeat_rows(top)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4: Vietnamese administrative documents are A4 (Decree 30/2020/ND-CP)
    sheet.fit_to_pages(1, 0)  # one page wide, as many long as it takes
    out = _Sheet(sheet, styles.plain)
    out.row([title], styles.title)
    out.row([header for header, _ in columns], styles.header)
    return out


def _values(row: IndicatorRow) -> list[_Value]:
    return [row.a, row.b, row.ratio, row.max_points, row.points]


def _note(row: IndicatorRow) -> str:
    notes = [row.note] if row.note else []
    if not row.applicable and not row.no_data:
        notes.append(NOT_APPLICABLE)
    return "; ".join(notes)


def _level_sheet(sheet: _Sheet, styles: _Styles, rows: Sequence[IndicatorRow]) -> None:
    for row in rows:
        unit_name = row.unit_name if not row.rollup else LEVEL_TOTAL
        head = [row.indicator, row.name_vi, row.name_en, row.unit or "", unit_name]
        values = [*head, *_values(row), row.source, _note(row), row.declared, row.part]
        sheet.row(values, styles.numbers(row.measure, first=5, width=len(values), bold=row.rollup))


def _evidence_sheet(sheet: _Sheet, rows: Sequence[IndicatorRow]) -> None:
    for row in rows:
        if row.rollup:
            continue  # a roll-up counts exactly what its units' rows list
        for term, items in (("a", row.evidence_a), ("b", row.evidence_b)):
            for item in items:
                sheet.row([row.indicator, row.unit, row.level, term, item, row.part])


def _maintenance_sheet(sheet: _Sheet, windows: Sequence[Window], zone: ZoneInfo) -> None:
    """List the maintenance windows of the period: who made each and why (issue 14)."""
    for window in windows:
        start, end = _when(window, zone)
        author = window.author or (CONFIG_AUTHOR if window.source == "config" else "")
        sheet.row([window.name, ", ".join(window.objects), start, end, author, window.reason])


def _when(window: Window, zone: ZoneInfo) -> tuple[str, str]:
    """Return a window's start and end as texts: local times, or a recurring window's schedule."""
    if window.every is None:
        times = (window.starts_at, window.ends_at)
        start, end = (f"{t.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}" if t is not None else "" for t in times)
        return start, end
    days = f" ({', '.join(window.days)})" if window.every == "weekly" else ""
    every = "hằng ngày / daily" if window.every == "daily" else "hằng tuần / weekly"
    length = f"+{window.duration:g} s" if window.duration is not None else ""
    return f"{every}{days} {window.at or ''} {zone.key}", length


def _discrepancy_sheet(sheet: _Sheet, rows: Sequence[IndicatorRow]) -> None:
    """List the units where the inventory's claim and monitoring disagree, per coverage indicator."""
    for row in rows:
        if row.rollup or row.declared is None or bool(row.declared) == bool(row.a):
            continue
        what = DECLARED_NOT_SEEN if row.declared else SEEN_NOT_DECLARED
        if row.no_data:
            what += f" ({row.note})"
        counted = " | ".join(row.evidence_a)
        sheet.row([row.indicator, row.unit, row.unit_name, row.level, row.part, what, counted])


def _rules_sheet(sheet: _Sheet, styles: _Styles, catalog: Catalog) -> None:
    for d in catalog:
        formula = json.dumps(d.formula.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
        levels = ", ".join(level.value for level in d.levels)
        rule_vi, rule_en = catalog.rule_text(d, "vi"), catalog.rule_text(d, "en")
        values: list[_Value] = [
            d.id, d.name_vi, d.name_en, d.framework, d.measure, d.max_points, levels, d.source, rule_vi, rule_en,
            formula,
        ]  # fmt: skip
        sheet.row(values, styles.wrap)
    sheet.row([])  # a blank row, then the thresholds
    sheet.row(["Ngưỡng / Threshold", "Giá trị / Value"], styles.bold)
    for name, value in sorted(catalog.rules.items()):
        sheet.row([name, value], [None, styles.share_of(value)])
