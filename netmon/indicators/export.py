"""Indicator exports: CSV, JSON and XLSX carry the same rows; every file is written atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from netmon.indicators.definitions import Catalog
from netmon.indicators.formats import Format
from netmon.indicators.period import Period
from netmon.indicators.row import IndicatorRow
from netmon.inventory import files
from netmon.inventory.files import csv_safe
from netmon.monitor.maintenance import Window

__all__ = ["COLUMNS", "SCHEMA_VERSION", "Format", "atomic_path", "render_csv", "render_json", "write_export"]

#: Bumped when the JSON document's shape changes.
SCHEMA_VERSION = 1

#: CSV columns: the row's fields, in order.
COLUMNS = tuple(f.name for f in fields(IndicatorRow))

#: Joins evidence items in one CSV cell.
_EVIDENCE_JOIN = " | "


def render_csv(rows: Sequence[IndicatorRow], *, bom: bool = False) -> str:
    """Render rows as CSV (header row; empty cell = None; evidence joined by ' | '; formula-like texts quoted).

    With *bom*, the text starts with U+FEFF so that Excel reads it as UTF-8 (files get one by default).
    """
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, name)) for name in COLUMNS])
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return csv_safe(_EVIDENCE_JOIN.join(map(str, value)))
    if isinstance(value, int | float):
        return str(value)
    return csv_safe(str(value))


def render_json(rows: Sequence[IndicatorRow], *, period: Period, level: str | None, generated_at: datetime) -> str:
    """Render rows as one JSON document: schema version, period, level filter, time and the rows."""
    document: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "period": period.to_dict(),
        "level": level,
        "generated_at": generated_at.isoformat(),
        "rows": [row.to_dict() for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def atomic_path(path: Path) -> AbstractContextManager[Path]:
    """Yield a temporary path beside *path*; on success rename it over *path*, mode 0644 (a report is shared).

    `netmon.inventory.files.atomic_path`, with its errors (InputError, NetmonError).
    """
    return files.atomic_path(path, mode=0o644)


def write_export(
    rows: Sequence[IndicatorRow],
    path: Path,
    fmt: Format,
    *,
    period: Period,
    level: str | None,
    catalog: Catalog,
    generated_at: datetime,
    bom: bool = True,
    windows: Sequence[Window] = (),
) -> None:
    """Write *rows* to *path* in *fmt*, atomically: the file is whole or left as it was (CSV: BOM unless not *bom*).

    *windows*, the maintenance windows that overlap the period, go to the XLSX's maintenance sheet.
    """
    writers: dict[Format, Callable[[Path], object]] = {
        Format.CSV: lambda tmp: tmp.write_text(render_csv(rows, bom=bom), encoding="utf-8", newline=""),
        Format.JSON: lambda tmp: tmp.write_text(
            render_json(rows, period=period, level=level, generated_at=generated_at), encoding="utf-8"
        ),
        Format.XLSX: lambda tmp: _xlsx(
            rows, tmp, period=period, catalog=catalog, generated_at=generated_at, windows=windows
        ),
    }
    with atomic_path(path) as tmp:
        writers[fmt](tmp)


def _xlsx(
    rows: Sequence[IndicatorRow],
    path: Path,
    *,
    period: Period,
    catalog: Catalog,
    generated_at: datetime,
    windows: Sequence[Window],
) -> None:
    from netmon.indicators.xlsx import write_xlsx  # noqa: PLC0415 (XlsxWriter loads only for XLSX exports)

    write_xlsx(rows, path, period=period, catalog=catalog, generated_at=generated_at, windows=windows)
