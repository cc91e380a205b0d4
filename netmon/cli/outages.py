"""`netmon outages ...`: the outage history."""

from __future__ import annotations

from typing import Annotated

import typer

from netmon.cli.common import Command, ConfigOpt, JsonOpt, duration_text, handled, load, out, print_json, store_of

__all__ = ["register"]

group = typer.Typer(
    help="Outage history: what was down or cut off, when, and why.\n\nExample: netmon outages list --open",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `outages` group to *app*."""
    app.add_typer(group, name="outages")


@group.command("list", cls=Command)
@handled
def outages_list(  # noqa: PLR0917 (typer options, passed by name)
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN", help="Only outages open then or started after: 30m, 24h, 7d, or an ISO date/time."
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option(metavar="CODE", help="Only objects of this unit (code) and the units below it.")
    ] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only outages still open.")] = False,
    cause: Annotated[
        str | None, typer.Option(metavar="CAUSE", help="Only this cause: down, unreachable or maintenance.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List outages, newest first: the object, its unit, cause, root cause, start, end and duration.

    Only the root of a failure is "down"; what was cut off behind it is "unreachable" with the
    root named as root cause.

    Example: netmon outages list --since 7d --unit SL-LG --cause down
    """
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from rich.table import Table  # noqa: PLC0415

    from netmon.api.queries import outage_json, select_outages  # noqa: PLC0415 (lazy: keeps --help light)
    from netmon.inventory.views import units_below  # noqa: PLC0415
    from netmon.kernel import utcnow  # noqa: PLC0415
    from netmon.monitor.outages import CAUSES, OutageLedger, parse_since  # noqa: PLC0415
    from netmon.monitor.topology import Topology  # noqa: PLC0415

    cfg = load(config)
    if cause is not None and cause not in CAUSES.values():
        raise typer.BadParameter("expected down, unreachable or maintenance", param_hint="--cause")
    start = parse_since(since, utcnow()) if since else None
    with store_of(cfg) as store:
        inventory = store.snapshot()
        records = OutageLedger(store.engine).outages(open_only=open_only, since=start)
    units = units_below(inventory, unit) if unit is not None else None  # NotFoundError for an unknown code
    rows = select_outages(records, Topology.build(inventory).unit_of, units=units, cause=cause)
    if as_json:
        print_json([outage_json(r, u) for r, u in rows])
        return
    zone = ZoneInfo(cfg.timezone)
    table = Table("kind", "name", "unit", "cause", "root cause", "started", "ended", "duration", box=None)
    for record, code in rows:
        end = record.ended_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if record.ended_at else "open"
        duration = record.duration if record.duration is not None else (utcnow() - record.started_at).total_seconds()
        table.add_row(
            record.kind,
            record.name,
            code or "-",
            record.cause,
            record.root_cause or "",
            record.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            end,
            duration_text(duration),
        )
    out.print(table) if rows else out.print("no outages")
