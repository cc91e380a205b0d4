"""The XLSX report: summary, one sheet per level, evidence, maintenance, discrepancies and rules; bilingual, A4.

Written in openpyxl's write-only mode: each row is streamed to the file as it is appended, so
a 10,000-device province (~47,000 rows and their evidence) takes seconds and ~100 MB, not
16 s and 400 MB (issue 12). Rows are therefore written top to bottom, sheet by sheet, and a
sheet's layout (widths, frozen panes, filter, A4 page set-up) is set before its first row.
Sheets are typed `Worksheet`: a write-only sheet has the same layout attributes and `append`
(openpyxl copies them), which its stubs do not declare.

Every text is written as a text cell: a unit named ``=1+1`` or ``=HYPERLINK(...)`` is never a
formula (OWASP formula injection). The maintenance sheet lists every window that overlaps the
period, from the config (author "config") and from the API (author `token:NAME`). A period split
at a reorganisation says so in its title, and each row names its part; a unit without data says
so in its note.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from netmon.indicators.definitions import Catalog
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
RATIO_FORMATS = {"percent": "0.0%", "per_person": "0.00", "mbps_per_person": "0.00", "count": "#,##0"}
NOT_APPLICABLE = "không áp dụng (b = 0) / not applicable (b = 0)"
SPLIT = "kỳ được chia theo cơ cấu tổ chức tại thời điểm / period split by the structure in force"
_COUNT = "#,##0"
_POINTS = "0.00"
_HEADER_ROW = 2
_FREEZE = "A3"
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_BOLD = Font(bold=True)

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
    book = Workbook(write_only=True)
    summary = book.create_sheet(SHEETS["summary"])
    _head(summary, title, SUMMARY_COLUMNS)
    for row in rows:
        if row.rollup:
            head = [row.indicator, row.name_vi, row.name_en, row.level, row.period]
            tail = [row.measure, row.framework, row.source, _note(row), row.declared, row.part]
            summary.append(_cells(summary, [*head, *_formatted(summary, row), *tail]))
    for level, name in LEVEL_SHEETS.items():
        mine = [row for row in rows if row.level == level.value]
        if mine:
            _level_sheet(book.create_sheet(name), title, mine)
    _evidence_sheet(book.create_sheet(SHEETS["evidence"]), title, rows)
    _maintenance_sheet(book.create_sheet(SHEETS["maintenance"]), title, windows, zone)
    _discrepancy_sheet(book.create_sheet(SHEETS["discrepancies"]), title, rows)
    _rules_sheet(book.create_sheet(SHEETS["rules"]), title, catalog)
    book.save(path)


def _cells(
    sheet: Worksheet,
    values: Sequence[_Value | Cell],
    *,
    font: Font | None = None,
    align: Alignment | None = None,
) -> list[_Value | Cell]:
    """Return one row to append: control characters (XLSX cannot hold them) in texts become spaces.

    Every text stays text: one that openpyxl would store as a formula ("=...") or an error
    ("#N/A") is written as a string cell (OWASP formula injection). Other values go as they are
    unless *font* or *align* styles the row.
    """
    out: list[_Value | Cell] = []
    for value in values:
        if isinstance(value, Cell):
            out.append(value)
            continue
        text = ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value
        plain = not isinstance(text, str) or not (text.startswith("=") or text in ERROR_CODES)
        if plain and font is None and align is None:
            out.append(text)
            continue
        cell = WriteOnlyCell(sheet, text)
        if isinstance(text, str):
            cell.data_type = "s"  # text stays text: openpyxl would store "=..." as a formula
        if font is not None:
            cell.font = font
        if align is not None:
            cell.alignment = align
        out.append(cell)
    return out


def _head(sheet: Worksheet, title: str, columns: Sequence[tuple[str, int]]) -> None:
    """Lay the sheet out (widths, panes, filter, A4 landscape) and append its title and header rows."""
    for index, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = _FREEZE
    sheet.auto_filter.ref = f"A{_HEADER_ROW}:{get_column_letter(len(columns))}{_HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"
    sheet.append(_cells(sheet, [title], font=Font(bold=True, size=12)))
    header = []
    for text, _ in columns:
        cell = WriteOnlyCell(sheet, text)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)


def _values(row: IndicatorRow) -> list[_Value]:
    return [row.a, row.b, row.ratio, row.max_points, row.points]


def _note(row: IndicatorRow) -> str:
    notes = [row.note] if row.note else []
    if not row.applicable and not row.no_data:
        notes.append(NOT_APPLICABLE)
    return "; ".join(notes)


def _formatted(sheet: Worksheet, row: IndicatorRow, *, font: Font | None = None) -> list[Cell]:
    """Return the cells of a, b, ratio, max points and points, with their number formats."""
    formats = [_COUNT, _COUNT, RATIO_FORMATS.get(row.measure, "0.00"), _POINTS, _POINTS]
    cells = []
    for value, number_format in zip(_values(row), formats, strict=True):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = number_format
        if font is not None:
            cell.font = font
        cells.append(cell)
    return cells


def _level_sheet(sheet: Worksheet, title: str, rows: Sequence[IndicatorRow]) -> None:
    _head(sheet, title, LEVEL_COLUMNS)
    for row in rows:
        unit_name = row.unit_name if not row.rollup else LEVEL_TOTAL
        head = [row.indicator, row.name_vi, row.name_en, row.unit or "", unit_name]
        font = _BOLD if row.rollup else None
        values = [*head, *_formatted(sheet, row, font=font), row.source, _note(row), row.declared, row.part]
        sheet.append(_cells(sheet, values, font=font))


def _evidence_sheet(sheet: Worksheet, title: str, rows: Sequence[IndicatorRow]) -> None:
    _head(sheet, title, EVIDENCE_COLUMNS)
    for row in rows:
        if row.rollup:
            continue  # a roll-up counts exactly what its units' rows list
        for term, items in (("a", row.evidence_a), ("b", row.evidence_b)):
            for item in items:
                sheet.append(_cells(sheet, [row.indicator, row.unit, row.level, term, item]))


def _maintenance_sheet(sheet: Worksheet, title: str, windows: Sequence[Window], zone: ZoneInfo) -> None:
    """List the maintenance windows of the period: who made each and why (issue 14)."""
    _head(sheet, title, MAINTENANCE_COLUMNS)
    for window in windows:
        start, end = _when(window, zone)
        author = window.author or (CONFIG_AUTHOR if window.source == "config" else "")
        sheet.append(_cells(sheet, [window.name, ", ".join(window.objects), start, end, author, window.reason]))


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


def _discrepancy_sheet(sheet: Worksheet, title: str, rows: Sequence[IndicatorRow]) -> None:
    """List the units where the inventory's claim and monitoring disagree, per coverage indicator."""
    _head(sheet, title, DISCREPANCY_COLUMNS)
    for row in rows:
        if row.rollup or row.declared is None or bool(row.declared) == bool(row.a):
            continue
        what = DECLARED_NOT_SEEN if row.declared else SEEN_NOT_DECLARED
        if row.no_data:
            what += f" ({row.note})"
        counted = " | ".join(row.evidence_a)
        sheet.append(_cells(sheet, [row.indicator, row.unit, row.unit_name, row.level, row.part, what, counted]))


def _rules_sheet(sheet: Worksheet, title: str, catalog: Catalog) -> None:
    _head(sheet, title, RULE_COLUMNS)
    wrap = Alignment(wrap_text=True, vertical="top")
    for d in catalog:
        formula = json.dumps(d.formula.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
        levels = ", ".join(level.value for level in d.levels)
        rule_vi, rule_en = catalog.rule_text(d, "vi"), catalog.rule_text(d, "en")
        values: list[_Value] = [
            d.id, d.name_vi, d.name_en, d.framework, d.measure, d.max_points, levels, d.source, rule_vi, rule_en,
            formula,
        ]  # fmt: skip
        sheet.append(_cells(sheet, values, align=wrap))
    sheet.append([])  # a blank row, then the thresholds
    sheet.append(_cells(sheet, ["Ngưỡng / Threshold", "Giá trị / Value"], font=_BOLD))
    for name, value in sorted(catalog.rules.items()):
        share = WriteOnlyCell(sheet, value)
        share.number_format = "0%"
        sheet.append(_cells(sheet, [name, share]))
