"""Inventory files: one YAML file, one CSV file per list, or one XLSX workbook with a sheet per list.

Read with lines (cells for XLSX), written atomically. CSV files may be separated by `,`, `;` (Excel
in a vi-VN locale) or tabs; they are written with a UTF-8 BOM so that Excel shows Vietnamese. A text
cell that a spreadsheet would run as a formula (=, +, -, @) is written with a leading apostrophe
and read back without it (OWASP "CSV injection"), so the round trip is lossless.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from netmon.errors import InputError, Issue, NetmonError, validation_message
from netmon.inventory.models import LEGACY_WARD
from netmon.inventory.sniff import EXCEL_CSV_UTF8, other_format
from netmon.inventory.spec import KINDS, Inventory, Origin, Record, ServiceSpec, Spec, UnitSpec
from netmon.yamlsrc import YamlSyntaxError, load_yaml

__all__ = [
    "FORMULA_START",
    "Parsed",
    "atomic_path",
    "atomic_write",
    "csv_safe",
    "output_error",
    "read_files",
    "render_yaml",
    "require_directory",
    "require_output_file",
    "unquote_cell",
    "write_csv",
    "write_yaml",
]

#: A text cell starting with one of these is a formula to Excel and LibreOffice (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: CSV delimiters tried, in order of preference.
_DELIMITERS = (",", ";", "\t")
_WARD_NOTE = (
    "level 'ward' is read as 'commune' ({count} units): since 2025-07-01 communes (xã, phường, đặc khu) "
    "sit directly under the province; a commune under a district is the historic three-tier structure"
)

_BY_PLURAL: dict[str, type[Spec]] = {kind.plural: kind for kind in KINDS}
#: libyaml's emitter; the pure-Python one takes seconds for a 10,000-device province.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_YAML_HEADER = "# netmon inventory: units, devices, links, services (netmon inventory import FILE)\n"
_LISTS = ", ".join(kind.plural for kind in KINDS)
_CSV_NAMES = ", ".join(f"{kind.plural}.csv" for kind in KINDS)


@dataclass
class Parsed:
    """Records read from files, the lists the files provide, and every issue found.

    `invalid` holds the keys of records that failed to parse: they exist, so references
    to them are not reported again as unknown. `provided` maps each list the files give (even
    empty: `links: []`, a header-only CSV) to where it is first given, as (source, line).
    `warnings` name the files that hold no records at all.
    """

    records: dict[type[Spec], list[Record]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    invalid: dict[type[Spec], set[str]] = field(default_factory=lambda: {kind: set() for kind in KINDS})
    provided: dict[type[Spec], tuple[str, int | None]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wards: int = 0

    def provide(self, kind: type[Spec], source: str, line: int | None) -> None:
        """Record that *source* gives the list of *kind* (the first place that does is kept)."""
        self.provided.setdefault(kind, (source, line))

    def found(self) -> tuple[int, int]:
        """Return how many records (parsed or not) and issues have been read so far."""
        return len(self) + sum(len(keys) for keys in self.invalid.values()), len(self.issues)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.records.values())


def read_files(paths: Iterable[Path]) -> Parsed:
    """Read YAML, CSV and XLSX files and folders of CSV files; collect issues (and notes) instead of stopping."""
    parsed = Parsed()
    for path in paths:
        wards = parsed.wards
        _read_one(path, parsed)
        if parsed.wards > wards:
            parsed.notes.append(f"{path}: " + _WARD_NOTE.format(count=parsed.wards - wards))
    return parsed


#: The warning for a file that holds no records. Nothing is imported from it, but a list it gives
#: empty is emptied by `--prune --allow-empty`: the warning says neither, to be true in both cases.
_NO_RECORDS = "{path}: holds no records (no row in any list)"


def _read_one(path: Path, parsed: Parsed) -> None:
    if path.is_dir():
        found = [path / f"{kind.plural}.csv" for kind in KINDS if (path / f"{kind.plural}.csv").is_file()]
        if not found:
            parsed.issues.append(_file_issue(path, f"folder holds none of {_CSV_NAMES}"))
        for csv_path in found:
            _read_file(csv_path, parsed)
    else:
        _read_file(path, parsed)


def _read_file(path: Path, parsed: Parsed) -> None:
    """Read one file; warn when it holds no records and has nothing wrong with it either."""
    before = parsed.found()
    _read_by_suffix(path, parsed)
    if parsed.found() == before:
        parsed.warnings.append(_NO_RECORDS.format(path=path))


def _read_by_suffix(path: Path, parsed: Parsed) -> None:
    if path.suffix.lower() == ".csv":
        _read_csv(path, parsed)
    elif path.suffix.lower() in (".yaml", ".yml"):
        _read_yaml(path, parsed)
    elif path.suffix.lower() == ".xlsx":
        from netmon.inventory.sheets import read_xlsx  # noqa: PLC0415 (openpyxl loads only for XLSX)

        read_xlsx(path, parsed)
    else:
        parsed.issues.append(
            _file_issue(path, "expected a .yaml/.yml file, a .csv or .xlsx file, or a folder of CSV files")
        )


def _file_issue(path: Path, message: str, line: int | None = None) -> Issue:
    return Issue(source=str(path), line=line, where="", message=message)


def _read_text(path: Path, parsed: Parsed) -> str | None:
    try:
        data = path.read_bytes()
        other = other_format(path, data)  # an XLSX or a screenshot renamed .yaml is not "not UTF-8"
        if other is not None:
            parsed.issues.append(_file_issue(path, other))
            return None
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        parsed.issues.append(_file_issue(path, "no such file"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        parsed.issues.append(_file_issue(path, _not_utf8(path, data, exc.start), line))
    except OSError as exc:
        parsed.issues.append(_file_issue(path, f"cannot read: {exc.strerror}"))
    return None


def _not_utf8(path: Path, data: bytes, start: int) -> str:
    """Say that a file is not UTF-8; a CSV is most likely Excel's plain 'CSV', in the Windows code page."""
    if path.suffix.lower() != ".csv":
        return f"not UTF-8 (byte {start}); save the file as UTF-8"
    try:
        data.decode("cp1258")
    except UnicodeDecodeError:
        return f"not UTF-8 (byte {start}); {EXCEL_CSV_UTF8}"
    return f"not UTF-8 (byte {start}): probably Excel's plain 'CSV', in a Windows code page; {EXCEL_CSV_UTF8}"


def _read_yaml(path: Path, parsed: Parsed) -> None:
    text = _read_text(path, parsed)
    if text is None:
        return
    try:
        doc = load_yaml(text, path, grouped_as_text=True)
    except YamlSyntaxError as exc:
        parsed.issues.append(exc.issue)
        return
    if doc.data is None:
        return
    if not isinstance(doc.data, dict):
        parsed.issues.append(_file_issue(path, f"expected a mapping with {_LISTS}", 1))
        return
    for key, rows in doc.data.items():
        kind = _BY_PLURAL.get(key) if isinstance(key, str) else None
        if kind is None:
            parsed.issues.append(
                Issue(
                    source=str(path),
                    line=doc.line((key,)),
                    where=str(key),
                    message=f"unknown list (expected {_LISTS})",
                )
            )
            continue
        parsed.provide(kind, str(path), doc.line((key,)))
        if rows is None:
            continue
        if not isinstance(rows, list):
            parsed.issues.append(Issue(source=str(path), line=doc.line((key,)), where=key, message="must be a list"))
            continue
        for index, row in enumerate(rows):
            base = (key, index)
            line = doc.line(base)
            if not isinstance(row, dict):
                parsed.issues.append(
                    Issue(source=str(path), line=line, where=f"{kind.noun} #{index + 1}", message="must be a mapping")
                )
                continue
            fields = {str(name): doc.lines[(*base, name)] for name in row if (*base, name) in doc.lines}
            _add(parsed, kind, row, Origin(source=str(path), line=line, fields=fields), index)


def _kind_of_csv(path: Path) -> type[Spec] | None:
    stem = path.stem.lower()
    for kind in KINDS:
        if stem == kind.plural or stem.endswith(("-" + kind.plural, "_" + kind.plural, "." + kind.plural)):
            return kind
    return None


def _read_csv(path: Path, parsed: Parsed) -> None:
    kind = _kind_of_csv(path)
    if kind is None:
        parsed.issues.append(_file_issue(path, f"cannot tell the list from the name: call it one of {_CSV_NAMES}"))
        return
    text = _read_text(path, parsed)
    if text is None or not text.strip():  # an empty file gives no list, not even an empty one
        return
    parsed.provide(kind, str(path), 1)
    columns = set(kind.model_fields)
    delimiter = _sniff(text, columns)
    if delimiter is None:
        first = text.split("\n", 1)[0].strip()[:80]
        parsed.issues.append(
            _file_issue(
                path,
                f"the first line {first!r} names none of the {kind.plural} columns "
                f"({', '.join(kind.model_fields)}) when split at ',', ';' or tab",
                1,
            )
        )
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [_nfc(name.strip()) for name in header]
        for name in header:
            if name not in columns:
                parsed.issues.append(
                    Issue(
                        source=str(path), line=1, where=f"column {name!r}", message=f"unknown column for {kind.plural}"
                    )
                )
        if len(set(header)) != len(header):
            parsed.issues.append(Issue(source=str(path), line=1, where="header", message="a column is named twice"))
        index = 0
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) != len(header):
                    message = _cells_message(cells, len(header), line, reader.line_num)
                    parsed.issues.append(
                        Issue(source=str(path), line=line, where=f"{kind.noun} #{index + 1}", message=message)
                    )
                else:
                    row = {
                        name: unquote_cell(cell)
                        for name, cell in zip(header, cells, strict=True)
                        if name in columns and cell.strip()
                    }
                    _add(parsed, kind, row, Origin(source=str(path), line=line), index)
                index += 1
            line = reader.line_num + 1
    except csv.Error as exc:
        parsed.issues.append(_file_issue(path, f"CSV: {exc}", reader.line_num))


def _cells_message(cells: list[str], columns: int, line: int, last: int) -> str:
    """Say why a CSV row has not as many cells as the header; a quote left open swallows the lines after it."""
    if last > line and any("\n" in cell for cell in cells):
        return f'a quote (") opened on this line runs on to line {last}; close it, or double a quote in a cell'
    return f"has {len(cells)} cells, the header has {columns}"


def _sniff(text: str, columns: set[str]) -> str | None:
    """Pick the delimiter that splits the header into the most known column names; None if none does."""
    first = text.split("\n", 1)[0]
    best, found = None, 0
    for delimiter in _DELIMITERS:
        header = next(csv.reader([first], delimiter=delimiter), [])
        known = sum(1 for name in header if _nfc(name.strip()) in columns)
        if known > found:
            best, found = delimiter, known
    return best


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def csv_safe(text: str) -> str:
    """Return a CSV text cell that no spreadsheet runs as a formula: a leading apostrophe before =, +, -, @."""
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def unquote_cell(text: str) -> str:
    """Undo csv_safe: drop the apostrophe netmon put before a formula character (or before an apostrophe)."""
    return text[1:] if text.startswith("'") and text[1:].startswith((*FORMULA_START, "'")) else text


def _add(parsed: Parsed, kind: type[Spec], row: Mapping[str, Any], origin: Origin, index: int) -> None:
    level = row.get("level") if kind is UnitSpec else None
    if isinstance(level, str) and level.strip().lower() == LEGACY_WARD:
        parsed.wards += 1
    try:
        spec = kind.model_validate(row)
    except ValidationError as exc:
        key = row.get(kind.key_field)
        label = f"{kind.noun} #{index + 1}"
        if isinstance(key, str) and key.strip():
            label = f"{kind.noun} {key!r}"
            parsed.invalid[kind].add(key.strip())
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            source, line = origin.place(name)
            where = f"{label}: {name}" if name else label
            parsed.issues.append(Issue(source=source, line=line, where=where, message=_message(err)))
        return
    parsed.records[kind].append(Record(spec, origin))


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "string_pattern_mismatch":
        return "must start with an ASCII letter or digit and hold only ASCII letters, digits and _ . : -"
    return validation_message(err, key="field")


def require_directory(path: Path) -> None:
    """Raise InputError unless the directory of *path* exists: a typo in an output path is an error, not a new tree."""
    if not path.parent.is_dir():
        raise InputError(f"{path}: there is no directory {path.parent}; create it first, or check the path")


def require_output_file(path: Path) -> None:
    """Raise InputError unless *path* can name an output file: its directory exists and it is not a directory."""
    require_directory(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory: give a file name")


#: Errors that say the machine is in trouble (a runtime failure, exit 1), not that the path is wrong.
_NOT_THE_PATH = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT})


def output_error(path: Path, exc: OSError) -> NetmonError:
    """Translate an OSError from writing *path* (a read-only or virtual folder, a full disk) into a NetmonError."""
    message = f"{path}: cannot write it: {exc.strerror or exc}"
    return NetmonError(message) if exc.errno in _NOT_THE_PATH else InputError(message)


@contextmanager
def atomic_path(path: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside *path*; on success rename it over *path* (chmod *mode* first), else remove it.

    The one way netmon writes an output file: never half a file, and the errors of an output path
    said as such. Raises InputError when *path*'s directory does not exist (`require_directory`),
    when *path* is a directory, or when the folder cannot be written (`output_error`; NetmonError
    for a full or failing disk).
    """
    require_output_file(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # a read-only or virtual folder
        raise output_error(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    except OSError as exc:
        raise output_error(path, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write *text* (UTF-8) or bytes to *path* through `atomic_path`: never half a file; its errors."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


def render_yaml(inventory: Inventory) -> str:
    """Render an inventory as the YAML import format."""
    # services appear only when there are some: an inventory without them renders as before
    data = {
        kind.plural: [spec.to_row() for spec in inventory.of(kind).values()]
        for kind in KINDS
        if kind is not ServiceSpec or inventory.services
    }
    return _YAML_HEADER + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def write_yaml(inventory: Inventory, path: Path) -> None:
    """Write the inventory as one YAML file, atomically."""
    atomic_write(path, render_yaml(inventory))


def _csv_text(kind: type[Spec], specs: Iterable[Spec], *, bom: bool = True) -> str:
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    columns = list(kind.model_fields)
    writer.writerow(columns)
    for spec in specs:
        row = spec.to_row()
        writer.writerow([_cell(row.get(name)) for name in columns])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, int | float):
        return str(value)
    return csv_safe(str(value))


def write_csv(inventory: Inventory, folder: Path, *, bom: bool = True) -> list[Path]:
    """Write units.csv, devices.csv, links.csv (and services.csv if any) into *folder*; return their paths.

    Each file is written atomically, with a UTF-8 BOM unless not *bom*. *folder* is made if it is
    missing, but not its parent: InputError then (`require_directory`). A services.csv left in
    *folder* by an earlier export is removed when the inventory has no services: the folder is the
    inventory, and an import of it (with ``--prune`` too) would bring those services back.
    """
    require_directory(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file: the CSV export writes units.csv, devices.csv ... into a folder")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise output_error(folder, exc) from exc
    texts = {
        folder / f"{kind.plural}.csv": _csv_text(kind, inventory.of(kind).values(), bom=bom)
        for kind in KINDS
        if kind is not ServiceSpec or inventory.services
    }
    for path, text in texts.items():
        atomic_write(path, text)
    if not inventory.services:
        stale = folder / f"{ServiceSpec.plural}.csv"
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            raise output_error(stale, exc) from exc
    return list(texts)
