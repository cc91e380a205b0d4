"""`netmon inventory ...`: import, export, list and show units, devices, links and services."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from netmon.cli.common import (
    Command,
    ConfigOpt,
    JsonOpt,
    err,
    existing_files,
    handled,
    level_option,
    load,
    out,
    plural,
    print_json,
    say_replaced,
    store_of,
)
from netmon.inventory.kinds import Level, Role

if TYPE_CHECKING:
    from netmon.config import Config

__all__ = ["register"]

#: Imports with more rows than this show a progress bar (on a terminal).
_PROGRESS_ROWS = 300

group = typer.Typer(
    help="Units, devices and links: import, export, list, show.\n\n"
    "Example: netmon inventory import config/inventory.example.yaml",
    no_args_is_help=True,
)


class ExportFormat(enum.StrEnum):
    """Inventory export formats."""

    YAML = "yaml"
    CSV = "csv"
    XLSX = "xlsx"


def register(app: typer.Typer) -> None:
    """Add the `inventory` group to *app*."""
    app.add_typer(group, name="inventory")


@group.command("import", cls=Command)
@handled
def inventory_import(  # noqa: PLR0917 (typer: one parameter per option)
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE_OR_FOLDER...",
            help="YAML files, CSV files (units.csv, devices.csv, links.csv; , ; or tab), folders of them, "
            "or XLSX workbooks (a sheet per list).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete stored records of the lists the files give but no longer name.")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="With --prune, let a list the files give without a record (links: [], a CSV with only its "
            "header) delete every stored record of that list; refused otherwise.",
        ),
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import inventory files: all or nothing, upserting by unit code and device/link name.

    Every error is reported (file:line: record: field: message) and nothing is written.

    Example: netmon inventory import config/inventory.example.yaml --dry-run
    """
    from netmon.inventory.files import read_files  # noqa: PLC0415 (lazy: keeps --help light)

    cfg = load(config)
    parsed = read_files(files)
    for warning in parsed.warnings:
        err.print(f"warning: {warning}", markup=False)
    for note in parsed.notes:
        err.print(f"note: {note}", markup=False)
    with store_of(cfg) as store, _progress(len(parsed)) as progress:
        plan = store.import_parsed(
            parsed,
            profiles=set(cfg.snmp_profiles),
            prune=prune,
            allow_empty=allow_empty,
            dry_run=dry_run,
            progress=progress,
        )
    if as_json:
        print_json({"dry_run": dry_run, "rows": plan.rows, "changes": [c.to_dict() for c in plan.changes]})
        return
    shown = plan.changes if dry_run else plan.changes[:20]
    for change in shown:
        out.print(str(change), markup=False)
    if len(shown) < len(plan.changes):
        out.print(f"… and {len(plan.changes) - len(shown)} more (see them with --dry-run)")
    verb = "would change" if dry_run else "imported"
    out.print(f"{verb}: {plan.summary()} ({plural(plan.rows, 'row')} read)")


@contextmanager
def _progress(rows: int) -> Iterator[Callable[[int], None] | None]:
    if rows <= _PROGRESS_ROWS or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=rows)
        yield lambda n: bar.advance(task, n)


@group.command("export", cls=Command)
@handled
def inventory_export(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE|FOLDER|-",
            help="YAML: a file, or - for stdout. CSV: a folder for units/devices/links.csv. XLSX: a workbook.",
        ),
    ],
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="yaml (one file), csv (one file per list) or xlsx (a sheet per list)."),
    ] = ExportFormat.YAML,
    bom: Annotated[
        bool, typer.Option("--bom/--no-bom", help="CSV: start with a UTF-8 BOM so that Excel shows Vietnamese.")
    ] = True,
    config: ConfigOpt = None,
) -> None:
    """Export the stored inventory in the import format; re-importing it changes nothing.

    Example: netmon inventory export --format csv -o backup/
    """
    from netmon.inventory.files import render_yaml, write_csv, write_yaml  # noqa: PLC0415
    from netmon.inventory.spec import KINDS  # noqa: PLC0415

    cfg = load(config)
    with store_of(cfg) as store:
        inventory = store.snapshot()
    if fmt is ExportFormat.YAML and str(output) == "-":
        sys.stdout.write(render_yaml(inventory))
        return
    targets = [output / f"{kind.plural}.csv" for kind in KINDS] if fmt is ExportFormat.CSV else [output]
    existed = existing_files(*targets)
    if fmt is ExportFormat.YAML:
        write_yaml(inventory, output)
        written = [output]
    elif fmt is ExportFormat.XLSX:
        from netmon.inventory.sheets import write_xlsx  # noqa: PLC0415 (openpyxl loads only for XLSX)

        write_xlsx(inventory, output)
        written = [output]
    else:
        written = write_csv(inventory, output, bom=bom)
        for gone in sorted(existed - set(written)):  # an earlier export's services.csv (`write_csv`)
            err.print(f"note: removed {gone}: the inventory has no services any more", markup=False)
    say_replaced(written, existed)
    counts = ", ".join(
        (
            plural(len(inventory.units), "unit"),
            plural(len(inventory.devices), "device"),
            plural(len(inventory.links), "link"),
            *([plural(len(inventory.services), "service")] if inventory.services else []),
        )
    )
    err.print(f"exported {counts} to {', '.join(map(str, written))}", markup=False)


@group.command("list", cls=Command)
@handled
def inventory_list(  # noqa: PLR0917 (typer: one parameter per option)
    unit: Annotated[
        str | None, typer.Option(metavar="CODE", help="Only this unit (code) and the units below it.")
    ] = None,
    level: Annotated[
        Level | None,
        level_option("Only devices of units at this level."),
    ] = None,
    role: Annotated[Role | None, typer.Option(help="Only devices with this role.")] = None,
    services: Annotated[bool, typer.Option("--services", help="List services (http/tcp checks), not devices.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List devices with their unit, level, role and address; or, with --services, the services.

    Example: netmon inventory list --unit SL-LG --role router
    """
    from rich.table import Table  # noqa: PLC0415

    cfg = load(config)
    if services:
        _list_services(cfg, unit, as_json=as_json)
        return
    with store_of(cfg) as store:
        rows = store.devices(unit=unit, level=level, role=role)
    if as_json:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "UNIT", "LEVEL", "ROLE", "ADDRESS", "SNMP", "PARENT", "TAGS"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        d = row.device
        name = d.name if d.enabled else f"{d.name} (disabled)"
        table.add_row(
            name, d.unit, str(row.level), str(d.role), d.address, d.snmp or "-", d.parent or "-", " ".join(d.tags)
        )
    out.print(table)
    out.print(plural(len(rows), "device"))


def _list_services(cfg: Config, unit: str | None, *, as_json: bool) -> None:
    from rich.table import Table  # noqa: PLC0415

    from netmon.inventory.views import service_rows  # noqa: PLC0415

    with store_of(cfg) as store:
        rows = service_rows(store.snapshot(), unit)
    if as_json:
        print_json(rows)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "UNIT", "LEVEL", "CHECK", "TARGET", "DEVICE", "EXPECT"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        name = row["name"] if row["enabled"] else f"{row['name']} (disabled)"
        target = row.get("url") or row.get("address") or "-"
        expect = row["expect_status"] if row["check"] == "http" else "-"
        table.add_row(name, row["unit"], row["level"], row["check"], target, row.get("device") or "-", expect)
    out.print(table)
    out.print(plural(len(rows), "service"))


@group.command("show", cls=Command)
@handled
def inventory_show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A device name, a link name or a unit code.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one device, link or unit, with its units above, parents, children and links.

    Example: netmon inventory show sl-h01-core-r1
    """
    from netmon.inventory.views import describe  # noqa: PLC0415

    cfg = load(config)
    with store_of(cfg) as store:
        view = describe(store.snapshot(), name)
    if as_json:
        print_json(view)
        return
    for key, value in view.items():
        out.print(f"{key + ':':<18}{_render(key, value)}", markup=False)


def _render(key: str, value: Any) -> str:
    if key == "unit_path":
        return " › ".join(f"{u['name']} ({u['code']})" for u in value)
    if key == "links":
        return ", ".join(f"{link['name']} [{link['kind']}]" for link in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return str(value)
