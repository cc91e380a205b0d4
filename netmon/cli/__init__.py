"""The `netmon` command line (typer). Exit codes: 0 ok, 1 runtime failure, 2 bad input or config.

One module per command group, each with a ``register(app)`` function; this module only composes
them, handles ``--version`` and the global ``--config/-c`` (accepted before or after the
subcommand; the one after wins).

Adding a command group takes one module and one line:

1. write ``netmon/cli/<group>.py`` with ``register(app: typer.Typer) -> None`` that adds its
   commands (``app.add_typer(group, name=...)`` or ``app.command(...)``), each command taking
   ``config: ConfigOpt = None`` and reading it with ``common.load(config)``;
2. add ``<group>`` to the import line and to ``_GROUPS`` below.

Keep the module's top-level imports light (typer, rich.console, netmon.errors, enums): import the
daemon, SQLAlchemy, aiohttp, openpyxl, XlsxWriter, matplotlib or rich.progress inside the command function,
because ``netmon --help`` imports every command module (tests/integration/test_cli_help.py checks it).
Every command's docstring ends with ``Example: netmon ...`` that the tests run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from netmon import __version__
from netmon.cli import check, db, discover, export, inventory, lab, outages, poll, report, run, security
from netmon.cli.common import ConfigOpt, out, remember_global_config

__all__ = ["app", "main"]

app = typer.Typer(
    name="netmon",
    help="Network and infrastructure inventory monitor for a province's IT department.\n\n"
    "Example: netmon --config config/netmon.example.yaml inventory list --level commune",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Every command module, in the order of `netmon --help`'s listing (typer sorts nothing).
_GROUPS = (check, db, inventory, discover, poll, run, outages, export, report, security, lab)


def _version(value: bool) -> None:
    if value:
        out.print(f"netmon {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    config: ConfigOpt = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Network and infrastructure inventory monitor for a province's IT department."""
    remember_global_config(config)


for _group in _GROUPS:
    _group.register(app)


def main() -> None:
    """Run the CLI (the `netmon` console script)."""
    app()
