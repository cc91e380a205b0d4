"""`netmon discover`: sweep, identify, learn the tree from LLDP/CDP, and compare with the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import (
    Command,
    ConfigOpt,
    JsonOpt,
    err,
    existing_files,
    handled,
    load,
    out,
    print_json,
    say_replaced,
    store_of,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `discover` to *app*."""
    app.command("discover", cls=Command, short_help="Find devices and their tree; compare with the inventory.")(
        discover
    )


@handled
def discover(  # noqa: PLR0917 (typer passes options by keyword)
    networks: Annotated[list[str], typer.Argument(metavar="NETWORK...", help="Networks to sweep, e.g. 198.18.0.0/24.")],
    profiles: Annotated[
        str | None,
        typer.Option(metavar="P1,P2", help="SNMP profiles to try, in order (default: discovery.profiles, else all)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(metavar="PPS", min=1, help="Echo requests per second (default: discovery.rate).")
    ] = None,
    root: Annotated[
        str | None, typer.Option(metavar="ADDRESS|NAME", help="The first device of the tree toward this station.")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(metavar="CODE", help="Unit for new devices whose unit is unknown.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the proposal (inventory YAML) here.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find what answers on NETWORKs, identify it over SNMP, learn the tree from LLDP/CDP, and compare.

    Only networks inside the config's discovery.allowed are swept (exit 2 otherwise). Nothing is
    written to the inventory: review the proposal, then import it (docs/discovery.md).

    Example: netmon discover 127.0.0.1/32 --json
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415 (lazy)

    from netmon.discovery.command import as_json as discovery_json  # noqa: PLC0415
    from netmon.discovery.command import render_text, run_discovery, write_proposal  # noqa: PLC0415
    from netmon.discovery.sweep import check_allowed, parse_networks  # noqa: PLC0415
    from netmon.inventory.views import require_unit  # noqa: PLC0415

    cfg = load(config)
    check_allowed(parse_networks(networks), cfg.discovery.allowed)  # exit 2 before the database or any packet
    with store_of(cfg) as store:
        inventory = store.snapshot()
    if unit is not None:
        require_unit(inventory, unit)  # before any packet: an unknown code would only fail at the import
    chosen = [p.strip() for p in profiles.split(",") if p.strip()] if profiles else None
    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[found]} answered"))
    with Progress(*columns, console=err, disable=as_json or not err.is_terminal, transient=True) as bar:
        task = bar.add_task("sweep", total=None, found=0)

        def progress(sent: int, total: int, answered: int) -> None:
            bar.update(task, completed=sent, total=total, found=answered)

        found = run_discovery(
            cfg, inventory, networks, profiles=chosen, rate=rate, root=root, unit=unit, progress=progress
        )
    if output is not None:
        existed = existing_files(output)
        write_proposal(found, output)
        say_replaced([output], existed)
    if as_json:
        print_json(discovery_json(found))
        return
    for line in render_text(found):
        out.print(line, markup=False)
    if output is not None:
        out.print(f"proposal written to {output}: review it, then netmon inventory import {output} --dry-run")
