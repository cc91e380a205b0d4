"""Inventory workbooks (XLSX): one sheet per list (units, devices, links), header in row 1.

Provincial staff keep their lists in Excel. Import validates like YAML and CSV; an issue is placed
as ``file:sheet!C5``. Export writes the same sheets, so that export → import changes nothing:
texts stay text (a name ``=1+1`` is a string cell, never a formula), dates are date cells,
counts are numbers, tags are one space-separated cell. Pages are A4.
"""

from __future__ import annotations

import enum
import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from netmon.errors import Issue
from netmon.inventory.files import Parsed, _add, _nfc, atomic_write
from netmon.inventory.sniff import other_format
from netmon.inventory.spec import KINDS, Inventory, Origin, ServiceSpec, Spec

__all__ = ["a4", "read_xlsx", "render_xlsx", "text_cell", "write_xlsx"]

_BY_SHEET: dict[str, type[Spec]] = {kind.plural: kind for kind in KINDS}


def read_xlsx(path: Path, parsed: Parsed) -> None:
    """Read every sheet of the workbook at *path* into *parsed* (issues as ``file:sheet!cell``)."""
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        parsed.issues.append(Issue(source=str(path), line=None, where="", message="no such file"))
        return
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        message = _other_format(path) or (
            f"not an XLSX workbook ({type(exc).__name__}); save it as .xlsx from Excel or LibreOffice"
        )
        parsed.issues.append(Issue(source=str(path), line=None, where="", message=message))
        return
    try:
        for sheet in book.worksheets:
            kind = _BY_SHEET.get(sheet.title.strip().lower())
            if kind is None:
                where = f"sheet {sheet.title!r}"
                message = f"unknown sheet (expected {', '.join(_BY_SHEET)})"
                parsed.issues.append(Issue(source=f"{path}:{sheet.title}", line=None, where=where, message=message))
                continue
            _read_sheet(path, sheet, kind, parsed)
    finally:
        book.close()


def _other_format(path: Path) -> str | None:
    """Say what a file that openpyxl cannot open looks like (an old .xls, an .ods, a PDF), if it can be told."""
    try:
        return other_format(path, path.read_bytes())
    except OSError:
        return None


def _read_sheet(path: Path, sheet: Worksheet, kind: type[Spec], parsed: Parsed) -> None:
    rows = sheet.iter_rows(values_only=True)
    header_cells = next(rows, None)
    if header_cells is None or not any(_filled(cell) for cell in header_cells):
        return  # an empty sheet gives no list, not even an empty one (a cleared one keeps formatted blank cells)
    parsed.provide(kind, f"{path}:{sheet.title}", None)
    known = set(kind.model_fields)
    header: list[str | None] = []
    for index, value in enumerate(header_cells, start=1):
        name = _nfc(str(value).strip()) if value is not None and str(value).strip() else None
        if name is not None and name not in known:
            place = f"{path}:{sheet.title}!{get_column_letter(index)}1"
            parsed.issues.append(
                Issue(source=place, line=None, where=f"column {name!r}", message=f"unknown column for {kind.plural}")
            )
        if name is not None and name in header:
            place = f"{path}:{sheet.title}!{get_column_letter(index)}1"
            parsed.issues.append(Issue(source=place, line=None, where="header", message="a column is named twice"))
        header.append(name)
    columns = {name: get_column_letter(i) for i, name in enumerate(header, start=1) if name in known}
    index = 0
    for number, cells in enumerate(rows, start=2):
        row = {name: _value(cell) for name, cell in zip(header, cells, strict=False) if name in known and _filled(cell)}
        for at, cell in enumerate(cells):
            if (at >= len(header) or header[at] is None) and _filled(cell):  # it would be lost without a word
                place = f"{path}:{sheet.title}!{get_column_letter(at + 1)}{number}"
                message = "a value in a column without a header: name the column in row 1, or clear the cell"
                parsed.issues.append(Issue(source=place, line=None, where=f"{kind.noun} row {number}", message=message))
        if not row:
            continue
        origin = Origin(source=str(path), line=number, sheet=sheet.title, columns=columns)
        _add(parsed, kind, row, origin, index)
        index += 1


def _filled(cell: object) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _value(cell: object) -> object:
    """Return a cell as the YAML reader would see it: dates as dates, whole floats as ints."""
    if isinstance(cell, datetime):
        return cell.date() if cell.time() == datetime.min.time() else cell
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def text_cell(sheet: Worksheet, row: int, column: int, value: str | float | date | None) -> None:
    """Write one cell; a text stays text even when it starts with = (no formula injection, OWASP)."""
    if isinstance(value, str):
        cell = sheet.cell(row, column, ILLEGAL_CHARACTERS_RE.sub(" ", value))
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        return
    cell = sheet.cell(row, column, value)
    if isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def a4(sheet: Worksheet) -> None:
    """Print on A4 paper, one page wide (Vietnamese administrative documents are A4: Decree 30/2020/ND-CP)."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4


def render_xlsx(inventory: Inventory) -> bytes:
    """Render the inventory as a workbook with one sheet per list."""
    book = Workbook()
    first = book.active
    if first is not None:
        book.remove(first)
    bold = Font(bold=True)
    for kind in KINDS:
        if kind is ServiceSpec and not inventory.services:
            continue  # as in YAML and CSV: an inventory without services has no services sheet
        sheet = book.create_sheet(kind.plural)
        names = list(kind.model_fields)
        for column, name in enumerate(names, start=1):
            sheet.cell(1, column, name).font = bold
            sheet.column_dimensions[get_column_letter(column)].width = max(12, len(name) + 2)
        for at, spec in enumerate(inventory.of(kind).values(), start=2):
            data = spec.to_row()
            for column, name in enumerate(names, start=1):
                value = _plain(getattr(spec, name)) if name in data else None
                if value is not None:
                    text_cell(sheet, at, column, value)
        sheet.freeze_panes = "A2"
        a4(sheet)
        sheet.page_setup.orientation = "landscape"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value: Any) -> str | float | date | None:
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str | float | date) or value is None:
        return value
    return str(value)


def write_xlsx(inventory: Inventory, path: Path) -> None:
    """Write the inventory as one workbook at *path*, atomically."""
    atomic_write(path, render_xlsx(inventory))
