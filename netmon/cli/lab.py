"""`netmon lab ...`: real snmpd agents on loopback that serve the inventory's devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import Command, ConfigOpt, JsonOpt, handled, load, out, plural, print_json, store_of

__all__ = ["register"]

LabDirOpt = Annotated[
    Path, typer.Option("--state-dir", metavar="FOLDER", help="Where the lab keeps its agents' files and PIDs.")
]

group = typer.Typer(
    short_help="Real snmpd agents on loopback for the inventory (demo, tests).",
    help="The lab: real snmpd agents on loopback serving the inventory's devices.\n\nExample: netmon lab status",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `lab` group to *app*."""
    app.add_typer(group, name="lab")


@group.command("up", cls=Command)
@handled
def lab_up(config: ConfigOpt = None, state_dir: LabDirOpt = Path("var/lab"), as_json: JsonOpt = False) -> None:
    """Start real snmpd agents for every SNMP device of the stored inventory (loopback, high ports).

    Example: netmon lab up --config config/netmon.example.yaml
    """
    from netmon.lab import control  # noqa: PLC0415 (lazy: keeps --help light)

    cfg = load(config)
    with store_of(cfg) as store:
        inventory = store.snapshot()
    agents = control.lab_up(inventory, cfg.snmp_profiles, state_dir)
    if as_json:
        print_json([agent.to_dict() for agent in agents])
        return
    for agent in agents:
        where = f"{plural(len(agent.addresses), 'address', 'addresses')} on port {agent.port}"
        out.print(f"{agent.name}: pid {agent.pid}, {where}", markup=False)


@group.command("down", cls=Command)
@handled
def lab_down(state_dir: LabDirOpt = Path("var/lab"), config: ConfigOpt = None) -> None:
    """Stop every agent the lab started.

    Example: netmon lab down
    """
    from netmon.lab import control  # noqa: PLC0415

    stopped = control.lab_down(state_dir)
    out.print(f"stopped {plural(len(stopped), 'agent')}")


@group.command("status", cls=Command)
@handled
def lab_status(state_dir: LabDirOpt = Path("var/lab"), config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show the lab's agents and whether each is running (exit 1 if one is not).

    Example: netmon lab status --json
    """
    from netmon.lab import control  # noqa: PLC0415

    rows = control.lab_status(state_dir)
    if as_json:
        print_json([{**agent.to_dict(), "running": running} for agent, running in rows])
    else:
        for agent, running in rows:
            state = "running" if running else "NOT RUNNING"
            where = f"{plural(len(agent.addresses), 'address', 'addresses')} on port {agent.port}"
            out.print(f"{agent.name}: pid {agent.pid} {state}, {where}", markup=False)
        if not rows:
            out.print("no lab is up")
    if not all(running for _, running in rows):
        raise typer.Exit(1)
