"""Recognise an inventory file of another format by its first bytes, and say what to do with it.

An XLSX workbook or a screenshot renamed `.yaml`, or an Excel CSV saved in a Windows code page,
used to read as "not UTF-8 (byte 22)": true, but no help to the operator who made it. The
magic numbers are the formats' own (ZIP local file header, OLE2 compound file, PDF, PNG, JPEG,
gzip, UTF-16 byte order marks).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

__all__ = ["EXCEL_CSV_UTF8", "other_format"]

#: Excel's name for the CSV format netmon reads (Save As, then the file type).
EXCEL_CSV_UTF8 = "in Excel, use Save As with the type 'CSV UTF-8 (Comma delimited) (*.csv)'"

#: First bytes → (what the file is, what to do). "{xlsx}" is the file's name with .xlsx.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old Excel workbook (.xls) or a password-protected one",
        "save it as .xlsx in Excel or LibreOffice, without a password",
    ),
    (b"%PDF", "a PDF document", "netmon reads no PDF; import the spreadsheet the list is kept in"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "netmon reads no image; import the spreadsheet the list is kept in"),
    (b"\xff\xd8\xff", "a JPEG image", "netmon reads no image; import the spreadsheet the list is kept in"),
    (b"\x1f\x8b", "a gzip-compressed file", "unpack it first (gunzip), then import what it holds"),
)
#: An OpenDocument `mimetype` entry is one short line; a bigger one is not read.
_MIMETYPE_SIZE = 100
#: What each reader expects, by the file's suffix.
_EXPECTED = {".yaml": "a YAML file", ".yml": "a YAML file", ".csv": "a CSV file", ".xlsx": "an XLSX workbook"}


def other_format(path: Path, data: bytes) -> str | None:
    """Return what to tell the operator when *data* (the file's bytes) is plainly not *path*'s format, else None."""
    expected = _EXPECTED.get(path.suffix.lower(), "an inventory file")
    found = _recognise(path, data)
    if found is None:
        return None
    what, advice = found
    if what.startswith("an XLSX") and expected.startswith("an XLSX"):
        return None
    return f"this looks like {what}, not {expected}: {advice}"


def _recognise(path: Path, data: bytes) -> tuple[str, str] | None:
    if data.startswith(b"PK\x03\x04"):
        return _zip(path, data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if path.suffix.lower() == ".csv":
            return "UTF-16 text (Excel's 'Unicode Text')", EXCEL_CSV_UTF8
        return "UTF-16 text", "save it as UTF-8"
    for magic, what, advice in _MAGIC:
        if data.startswith(magic):
            return what, advice
    return None


def _zip(path: Path, data: bytes) -> tuple[str, str]:
    """Tell an XLSX workbook or an OpenDocument spreadsheet from another ZIP archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            small = "mimetype" in names and archive.getinfo("mimetype").file_size <= _MIMETYPE_SIZE
            kind = archive.read("mimetype").decode("ascii", "replace") if small else ""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, RuntimeError, NotImplementedError, zlib.error):
        # RuntimeError: an encrypted entry; NotImplementedError: a method zipfile lacks (AES, 99)
        names, kind = set(), ""
    if "xl/workbook.xml" in names:
        return "an XLSX workbook", f"name it {path.with_suffix('.xlsx').name} (netmon reads .xlsx workbooks)"
    if kind == "application/vnd.oasis.opendocument.spreadsheet":
        return "an OpenDocument spreadsheet (.ods)", "save it as .xlsx in LibreOffice"
    return "a ZIP archive", "unpack it, then import the files it holds"
