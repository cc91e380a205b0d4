"""`netmon export ...`: the infrastructure indicators as CSV, XLSX or JSON."""

from __future__ import annotations

import sys
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netmon.cli.common import (
    Command,
    ConfigOpt,
    err,
    existing_files,
    handled,
    level_option,
    load,
    plural,
    say_replaced,
    store_of,
)
from netmon.errors import InputError
from netmon.indicators.formats import Format
from netmon.inventory.kinds import Level

if TYPE_CHECKING:
    from datetime import datetime

    from netmon.indicators.period import Period
    from netmon.indicators.row import IndicatorRow

__all__ = ["PeriodOpt", "register"]

group = typer.Typer(
    short_help="Indicators (ICT-Index, DTI, provincial) as CSV, XLSX, JSON.",
    help="Reports: infrastructure indicators (ICT-Index, DTI, provincial).\n\n"
    "Example: netmon export indicators --period live -o live.csv",
    no_args_is_help=True,
)

PeriodOpt = Annotated[
    str,
    typer.Option("--period", "-p", metavar="PERIOD", help="2026 (year), 2026-Q3 (quarter), 2026-09 (month) or live."),
]


def register(app: typer.Typer) -> None:
    """Add the `export` group to *app*."""
    app.add_typer(group, name="export")


@group.command("indicators", cls=Command)
@handled
def export_indicators(
    period: PeriodOpt,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE|-", help="The file to write (csv, json: - for stdout).")
    ],
    level: Annotated[
        Level | None,
        level_option("Only units at this level and its roll-up."),
    ] = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="csv, xlsx or json; default: the output's suffix.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Export the infrastructure indicators per unit and per level for a period.

    Periods are local to the configured timezone. A ratio whose denominator is 0 is not
    applicable: an empty cell in CSV and XLSX, null in JSON. The file is written whole or not at all.

    Example: netmon export indicators --period 2026-Q3 --level commune -o q3.xlsx
    """
    from netmon.indicators.compute import compute, first_sample  # noqa: PLC0415 (lazy: keeps --help light)
    from netmon.indicators.definitions import catalog_for  # noqa: PLC0415
    from netmon.indicators.export import render_csv, render_json, write_export  # noqa: PLC0415
    from netmon.indicators.period import parse_period  # noqa: PLC0415
    from netmon.kernel import utcnow  # noqa: PLC0415
    from netmon.monitor.maintenance import Window  # noqa: PLC0415
    from netmon.monitor.windows import WindowStore, windows_between  # noqa: PLC0415

    cfg = load(config)
    fmt = fmt or Format.of(output)
    if fmt is None:
        raise InputError(f"cannot tell the format of {str(output)!r}: give --format csv|xlsx|json")
    if str(output) == "-" and fmt is Format.XLSX:
        raise InputError("XLSX cannot go to stdout: give a file name with -o")
    zone, now = zoneinfo.ZoneInfo(cfg.timezone), utcnow()
    when = parse_period(period, zone, now)
    catalog = catalog_for(cfg.indicators)
    with store_of(cfg) as store:
        rows = compute(store.engine, store.snapshot(), when, level=level, zone=zone, now=now, definitions=catalog)
        first = None if when.live else first_sample(store.engine)
        configured = [Window.from_config(c) for c in cfg.maintenance]
        windows = windows_between(configured, WindowStore(store.engine), when.start, when.end, zone)
    _warn_no_data(when, first, zone, rows)
    chosen = level.value if level is not None else None
    if str(output) == "-":
        text = render_json(rows, period=when, level=chosen, generated_at=now) if fmt is Format.JSON else None
        sys.stdout.write(text if text is not None else render_csv(rows))
        return
    existed = existing_files(output)
    write_export(rows, output, fmt, period=when, level=chosen, catalog=catalog, generated_at=now, windows=windows)
    say_replaced([output], existed)
    err.print(f"exported {plural(len(rows), 'indicator row')} for {when.label} to {output}", markup=False)


def _warn_no_data(when: Period, first: datetime | None, zone: zoneinfo.ZoneInfo, rows: list[IndicatorRow]) -> None:
    """Warn when the period begins before monitoring did: its availability rows are partly "no data"."""
    if when.live:
        return
    if first is None:
        err.print(f"warning: netmon has recorded no state yet: {when.label} has no monitoring data", markup=False)
    elif when.start < first:
        began = f"{first.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"
        err.print(
            f"warning: {when.label} starts before netmon's first sample ({began}): "
            "availability-based indicators have no data before it",
            markup=False,
        )
    parts = sorted({row.part for row in rows if row.part})
    if parts:
        err.print(f"note: {when.label} spans a reorganisation; split into {', '.join(parts)}", markup=False)
