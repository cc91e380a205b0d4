"""`netmon report`: the PDF report (Vietnamese with English labels) for a period."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import (
    Command,
    ConfigOpt,
    err,
    existing_files,
    handled,
    level_option,
    load,
    say_replaced,
    store_of,
)
from netmon.cli.export import PeriodOpt
from netmon.errors import InputError
from netmon.inventory.kinds import Level

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `report` to *app*."""
    app.command("report", cls=Command, short_help="The PDF report for a period: charts, indicators, rules.")(report)


@handled
def report(
    period: PeriodOpt,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE.pdf", help="The PDF to write.")] = Path(
        "report.pdf"
    ),
    level: Annotated[
        Level | None,
        level_option("Only units at this level and its roll-up."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the indicator report as a PDF (A4, Vietnamese with English labels).

    A cover summary; coverage by level and service over the period's months; link availability
    per kind; the ten worst units; outages by cause; the indicator table (a, b, ratio, points);
    the evidence appendix and the accounting rules. Written whole or not at all.

    Example: netmon report --period 2026 -o report.pdf
    """
    from netmon.indicators.definitions import catalog_for  # noqa: PLC0415 (lazy: keeps --help light)
    from netmon.indicators.period import parse_period  # noqa: PLC0415
    from netmon.indicators.report import write_report  # noqa: PLC0415 (matplotlib)
    from netmon.indicators.report_data import collect  # noqa: PLC0415
    from netmon.pollers.base import utcnow  # noqa: PLC0415

    cfg = load(config)
    if output.suffix.lower() != ".pdf":
        raise InputError(f"{output}: the report is a PDF: give a file name ending in .pdf")
    if not output.parent.is_dir():
        raise InputError(f"{output}: no folder {output.parent}")
    zone, now = zoneinfo.ZoneInfo(cfg.timezone), utcnow()
    when = parse_period(period, zone, now)
    with store_of(cfg) as store:
        data = collect(
            store.engine, store.snapshot(), when, level=level, zone=zone, now=now, catalog=catalog_for(cfg.indicators)
        )
    existed = existing_files(output)
    pages = write_report(data, output)
    say_replaced([output], existed)
    err.print(f"wrote {output}: {pages} pages for {data.province}, {when.label}", markup=False)
