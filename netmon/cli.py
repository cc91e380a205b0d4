"""The `netmon` command line (typer). Exit codes: 0 ok, 1 runtime failure, 2 bad input or config."""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import sys
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from netmon import __version__
from netmon.config import Config, load_config
from netmon.daemon import Daemon
from netmon.errors import InputError, NetmonError, NotFoundError
from netmon.indicators.compute import compute
from netmon.indicators.definitions import catalog_for
from netmon.indicators.export import Format, render_csv, render_json, write_export
from netmon.indicators.period import parse_period
from netmon.inventory import schema
from netmon.inventory.files import read_files, render_yaml, write_csv, write_yaml
from netmon.inventory.models import Level, Role
from netmon.inventory.store import Store
from netmon.inventory.views import describe, units_below
from netmon.lab import control
from netmon.logs import setup_logging
from netmon.monitor.outages import CAUSES, OutageLedger, parse_since
from netmon.monitor.rounds import POLL_CLASSES, Pollers, RoundResult, run_round, targets_of
from netmon.monitor.topology import Topology
from netmon.pollers.base import HostSample, InterfacesSample, PingSample, Sample, SystemSample, Target, utcnow

__all__ = ["app", "main"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Imports with more rows than this show a progress bar (on a terminal).
_PROGRESS_ROWS = 300

app = typer.Typer(
    name="netmon",
    help="Network and infrastructure inventory monitor for a province's IT department.\n\n"
    "Example: netmon --config config/netmon.example.yaml inventory list --level ward",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
lab_app = typer.Typer(
    help="The lab: real snmpd agents on loopback serving the inventory's devices.", no_args_is_help=True
)
inventory_app = typer.Typer(help="Units, devices and links: import, export, list, show.", no_args_is_help=True)
export_app = typer.Typer(help="Reports: infrastructure indicators (ICT-Index, DTI, provincial).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")
app.add_typer(inventory_app, name="inventory")
outages_app = typer.Typer(help="Outage history: what was down or cut off, when, and why.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")
app.add_typer(outages_app, name="outages")

#: Piped output is not cut to 80 columns: tables stay whole for grep and less.
out = Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True, highlight=False)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="NETMON_CONFIG",
        help="Config file (YAML). Falls back to $NETMON_CONFIG, then to built-in defaults.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
LabDirOpt = Annotated[Path, typer.Option("--state-dir", help="Where the lab keeps its agents' files and PIDs.")]


class ExportFormat(StrEnum):
    """Inventory export formats."""

    YAML = "yaml"
    CSV = "csv"


def _handled(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn NetmonError into a message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except NetmonError as exc:
            err.print(f"netmon: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("netmon: interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


def _config(path: Path | None) -> Config:
    config = load_config(path)
    setup_logging(config.logging)
    return config


@contextmanager
def _store(config: Config) -> Iterator[Store]:
    store = Store.open(config.database.url.reveal())
    try:
        yield store
    finally:
        store.close()


def _print_json(data: Any) -> None:
    out.out(json.dumps(data, ensure_ascii=False, indent=2), highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"netmon {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Network and infrastructure inventory monitor for a province's IT department."""


@app.command("check-config")
@_handled
def check_config(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the config and print it with every secret shown as ***.

    Example: netmon check-config --config /etc/netmon/netmon.yaml --json
    """
    cfg = _config(config)
    source = str(config) if config else "<built-in defaults>"
    if as_json:
        _print_json({"source": source, "config": cfg.redacted()})
        return
    out.print(f"config OK: {source}")
    out.print(f"  database:  {cfg.database.url}")
    for name, profile in cfg.snmp_profiles.items():
        level = f" {profile.security_level}" if profile.security_level else ""
        out.print(f"  snmp:      {name} (v{profile.version}{level}, port {profile.port})")
    for name in ("ping", "snmp", "host_resources"):
        poll = getattr(cfg.polling, name)
        out.print(f"  poll:      {name} every {poll.interval:g}s, timeout {poll.timeout:g}s, retries {poll.retries}")
    out.print(f"  http:      {cfg.http.listen}")
    out.print(f"  mqtt:      {cfg.mqtt.host}:{cfg.mqtt.port}{'' if cfg.mqtt.enabled else ' (disabled)'}")


@db_app.command("upgrade")
@_handled
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create or migrate the database schema to this netmon's version.

    Example: netmon db upgrade --config config/netmon.example.yaml
    """
    cfg = _config(config)
    engine = schema.create_engine(cfg.database.url.reveal())
    try:
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    where = cfg.database.url.display()
    if before == after:
        out.print(f"{where}: schema already at {after}")
    else:
        out.print(f"{where}: schema {before or 'empty'} → {after}")


@inventory_app.command("import")
@_handled
def inventory_import(
    files: Annotated[
        list[Path], typer.Argument(help="YAML files, CSV files (units.csv, devices.csv, links.csv) or folders of them.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; write nothing.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete stored records of the lists the files give but no longer name.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import inventory files: all or nothing, upserting by unit code and device/link name.

    Every error is reported (file:line: record: field: message) and nothing is written.

    Example: netmon inventory import config/inventory.example.yaml --dry-run
    """
    cfg = _config(config)
    parsed = read_files(files)
    with _store(cfg) as store, _progress(len(parsed)) as progress:
        plan = store.import_parsed(
            parsed, profiles=set(cfg.snmp_profiles), prune=prune, dry_run=dry_run, progress=progress
        )
    if as_json:
        _print_json({"dry_run": dry_run, "rows": plan.rows, "changes": [c.to_dict() for c in plan.changes]})
        return
    shown = plan.changes if dry_run else plan.changes[:20]
    for change in shown:
        out.print(str(change), markup=False)
    if len(shown) < len(plan.changes):
        out.print(f"… and {len(plan.changes) - len(shown)} more (see them with --dry-run)")
    verb = "would change" if dry_run else "imported"
    out.print(f"{verb}: {plan.summary()} ({plan.rows} rows read)")


@contextmanager
def _progress(rows: int) -> Iterator[Callable[[int], None] | None]:
    if rows <= _PROGRESS_ROWS or not err.is_terminal:
        yield None
        return
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("import", total=rows)
        yield lambda n: bar.advance(task, n)


@inventory_app.command("export")
@_handled
def inventory_export(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="YAML: a file, or - for stdout. CSV: a folder for units/devices/links.csv."
        ),
    ],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="yaml (one file) or csv (one file per list).")] = (
        ExportFormat.YAML
    ),
    config: ConfigOpt = None,
) -> None:
    """Export the stored inventory in the import format; re-importing it changes nothing.

    Example: netmon inventory export --format csv -o backup/
    """
    cfg = _config(config)
    with _store(cfg) as store:
        inventory = store.snapshot()
    if fmt is ExportFormat.YAML and str(output) == "-":
        sys.stdout.write(render_yaml(inventory))
        return
    if fmt is ExportFormat.YAML:
        write_yaml(inventory, output)
        written = [output]
    else:
        written = write_csv(inventory, output)
    counts = f"{len(inventory.units)} units, {len(inventory.devices)} devices, {len(inventory.links)} links"
    err.print(f"exported {counts} to {', '.join(map(str, written))}", markup=False)


@inventory_app.command("list")
@_handled
def inventory_list(
    unit: Annotated[str | None, typer.Option(help="Only this unit (code) and the units below it.")] = None,
    level: Annotated[Level | None, typer.Option(help="Only devices of units at this level.")] = None,
    role: Annotated[Role | None, typer.Option(help="Only devices with this role.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List devices with their unit, level, role and address.

    Example: netmon inventory list --unit SL-H01 --role router
    """
    cfg = _config(config)
    with _store(cfg) as store:
        rows = store.devices(unit=unit, level=level, role=role)
    if as_json:
        _print_json([row.to_dict() for row in rows])
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
    out.print(f"{len(rows)} devices")


@inventory_app.command("show")
@_handled
def inventory_show(
    name: Annotated[str, typer.Argument(help="A device name, a link name or a unit code.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one device, link or unit, with its units above, parents, children and links.

    Example: netmon inventory show sl-h01-core-r1
    """
    cfg = _config(config)
    with _store(cfg) as store:
        view = describe(store.snapshot(), name)
    if as_json:
        _print_json(view)
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


@app.command("poll")
@_handled
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll every device once and print the samples.")] = False,
    device: Annotated[str | None, typer.Option(help="Only this device.")] = None,
    unit: Annotated[
        str | None, typer.Option(help="Only the devices of this unit (code) and the units below it.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Poll the inventory's devices: ping, SNMP system and IF-MIB, HOST-RESOURCES on servers.

    A device that does not answer is reported, not an error: the exit code is 0.

    Example: netmon poll --once --unit SL-H01 --json
    """
    if not once:
        raise typer.BadParameter("only --once is supported here; `netmon run` polls continuously", param_hint="--once")
    cfg = _config(config)
    with _store(cfg) as store:
        inventory = store.snapshot()
    units = units_below(inventory, unit) if unit else None
    targets = [t for t in targets_of(inventory) if (units is None or t.unit in units) and device in (None, t.device)]
    if device is not None and not targets:
        raise NotFoundError(f"no enabled device called {device!r}")
    results = asyncio.run(_poll_once(cfg, targets))
    if as_json:
        _print_json([{"kind": s.kind, **s.to_dict()} for r in results for s in r.samples])
        return
    for result in results:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(result.by_status().items()))
        out.print(f"{result.poll_class}: {len(result.samples)} samples in {result.duration:.2f} s ({counts})")
        for sample in sorted(result.samples, key=lambda s: (s.device, s.kind)):
            out.print(f"  {sample.device:<24} {sample.kind:<16} {_summary(sample)}", markup=False)


async def _poll_once(cfg: Config, targets: list[Target]) -> list[RoundResult]:
    pollers = Pollers(cfg)
    await pollers.ping.check()
    return [
        await run_round(pollers, poll_class, targets, concurrency=cfg.polling.concurrency)
        for poll_class in POLL_CLASSES
    ]


def _summary(sample: Sample) -> str:
    if not sample.ok:
        return f"{sample.status}: {sample.error}"
    if isinstance(sample, PingSample):
        return f"ok {sample.received}/{sample.sent} replies, avg {(sample.rtt_avg or 0) * 1000:.3f} ms"
    if isinstance(sample, SystemSample):
        return f"ok {sample.sys_name}, up {(sample.sys_uptime or 0) / 100:.0f} s"
    if isinstance(sample, InterfacesSample):
        up = sum(1 for row in sample.interfaces if row.oper_status == 1)
        bits = {row.counter_bits for row in sample.interfaces}
        return f"ok {len(sample.interfaces)} interfaces, {up} up, {'/'.join(map(str, sorted(bits)))}-bit counters"
    if isinstance(sample, HostSample):
        return f"ok {len(sample.cpu_load)} CPUs, {len(sample.storage)} storage areas"
    return str(sample.status)


@app.command("discover")
@_handled
def discover_command(
    networks: Annotated[list[str], typer.Argument(metavar="NETWORK...", help="Networks to sweep, e.g. 198.18.4.0/24.")],
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

    Only networks inside the config's discovery.allowed are swept. Nothing is written to the
    inventory: review the proposal, then import it.

    Example: netmon discover 198.18.0.0/24 --unit HN -o proposed.yaml
    """
    from netmon.discovery.command import as_json as discovery_json
    from netmon.discovery.command import render_text, run_discovery, write_proposal

    cfg = _config(config)
    with _store(cfg) as store:
        inventory = store.snapshot()
    chosen = [p.strip() for p in profiles.split(",") if p.strip()] if profiles else None
    with Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[found]} answered"),
        console=err, disable=as_json or not err.is_terminal, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("sweep", total=None, found=0)

        def progress(sent: int, total: int, answered: int) -> None:
            bar.update(task, completed=sent, total=total, found=answered)

        found = run_discovery(
            cfg, inventory, networks, profiles=chosen, rate=rate, root=root, unit=unit, progress=progress
        )
    if output is not None:
        write_proposal(found, output)
    if as_json:
        _print_json(discovery_json(found))
        return
    for line in render_text(found):
        out.print(line, markup=False)
    if output is not None:
        out.print(f"proposal written to {output}: review it, then netmon inventory import {output} --dry-run")


@export_app.command("indicators")
@_handled
def export_indicators(
    period: Annotated[
        str, typer.Option("--period", "-p", help="2026 (year), 2026-Q3 (quarter), 2026-09 (month) or live.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (csv, json: - for stdout).")],
    level: Annotated[Level | None, typer.Option(help="Only units at this level and its roll-up.")] = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="csv, xlsx or json; default: the output's suffix.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Export the infrastructure indicators per unit and per level for a period.

    Periods are local to the configured timezone. A ratio whose denominator is 0 is not
    applicable: an empty cell in CSV and XLSX, null in JSON. The file is written whole or not at all.

    Example: netmon export indicators --period 2026-Q3 --level district -o q3.xlsx
    """
    cfg = _config(config)
    fmt = fmt or Format.of(output)
    if fmt is None:
        raise InputError(f"cannot tell the format of {str(output)!r}: give --format csv|xlsx|json")
    if str(output) == "-" and fmt is Format.XLSX:
        raise InputError("XLSX cannot go to stdout: give a file name with -o")
    zone, now = zoneinfo.ZoneInfo(cfg.timezone), utcnow()
    when = parse_period(period, zone, now)
    catalog = catalog_for(cfg.indicators)
    with _store(cfg) as store:
        rows = compute(store.engine, store.snapshot(), when, level=level, zone=zone, now=now, definitions=catalog)
    chosen = level.value if level is not None else None
    if str(output) == "-":
        text = render_json(rows, period=when, level=chosen, generated_at=now) if fmt is Format.JSON else None
        sys.stdout.write(text if text is not None else render_csv(rows))
        return
    write_export(rows, output, fmt, period=when, level=chosen, catalog=catalog, generated_at=now)
    err.print(f"exported {len(rows)} indicator rows for {when.label} to {output}", markup=False)


@lab_app.command("up")
@_handled
def lab_up(config: ConfigOpt = None, state_dir: LabDirOpt = Path("var/lab"), as_json: JsonOpt = False) -> None:
    """Start real snmpd agents for every SNMP device of the stored inventory (loopback, high ports).

    Example: netmon lab up --config config/netmon.example.yaml
    """
    cfg = _config(config)
    with _store(cfg) as store:
        inventory = store.snapshot()
    agents = control.lab_up(inventory, cfg.snmp_profiles, state_dir)
    if as_json:
        _print_json([agent.to_dict() for agent in agents])
        return
    for agent in agents:
        out.print(f"{agent.name}: pid {agent.pid}, {len(agent.addresses)} addresses on port {agent.port}")


@lab_app.command("down")
@_handled
def lab_down(state_dir: LabDirOpt = Path("var/lab"), config: ConfigOpt = None) -> None:
    """Stop every agent the lab started.

    Example: netmon lab down
    """
    stopped = control.lab_down(state_dir)
    out.print(f"stopped {len(stopped)} agent{'s' if len(stopped) != 1 else ''}")


@lab_app.command("status")
@_handled
def lab_status(state_dir: LabDirOpt = Path("var/lab"), config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show the lab's agents and whether each is running (exit 1 if one is not).

    Example: netmon lab status --json
    """
    rows = control.lab_status(state_dir)
    if as_json:
        _print_json([{**agent.to_dict(), "running": running} for agent, running in rows])
    else:
        for agent, running in rows:
            state = "running" if running else "NOT RUNNING"
            out.print(f"{agent.name}: pid {agent.pid} {state}, {len(agent.addresses)} addresses on port {agent.port}")
        if not rows:
            out.print("no lab is up")
    if not all(running for _, running in rows):
        raise typer.Exit(1)


@app.command("run")
@_handled
def run(
    config: ConfigOpt = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=1, help="Stop after this many seconds (demos); default: until SIGTERM/SIGINT."),
    ] = None,
) -> None:
    """Run the monitor: poll on schedule, track state and outages, serve /metrics and the API.

    Needs a migrated database (`netmon db upgrade`) with an inventory. SIGTERM or Ctrl-C stops it
    gracefully (exit code 0): rounds in flight finish or are cancelled and state is written.
    SIGHUP re-reads the config and the inventory without losing state or open outages. Logs go
    to stdout: JSON lines unless stdout is a terminal.

    Example: netmon --config config/netmon.example.yaml run
    """
    cfg = load_config(config)
    setup_logging(cfg.logging, service=True)
    asyncio.run(_run_daemon(cfg, duration, lambda: load_config(config)))


async def _run_daemon(cfg: Config, duration: float | None, reload_config: Callable[[], Config]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    daemon = Daemon(cfg, load_config=reload_config)
    loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
    if duration is not None:
        loop.call_later(duration, stop.set)

    def started(daemon: Daemon) -> None:
        if daemon.http is not None:
            url = daemon.http.url
            err.print(f"netmon: metrics at {url}/metrics, API at {url}/api/v1/devices (/links, /outages)", markup=False)

    await daemon.run(stop, on_started=started)


@outages_app.command("list")
@_handled
def outages_list(
    since: Annotated[
        str | None, typer.Option(help="Only outages open then or started after: 30m, 24h, 7d, or an ISO date/time.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only objects of this unit (code) and the units below it.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only outages still open.")] = False,
    cause: Annotated[str | None, typer.Option(help="Only this cause: down, unreachable or maintenance.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List outages, newest first: the object, its unit, cause, root cause, start, end and duration.

    Only the root of a failure is "down"; what was cut off behind it is "unreachable" with the
    root named as root cause.

    Example: netmon outages list --since 7d --unit SL-H01 --cause down
    """
    cfg = _config(config)
    if cause is not None and cause not in CAUSES.values():
        raise typer.BadParameter("expected down, unreachable or maintenance", param_hint="--cause")
    start = parse_since(since, utcnow()) if since else None
    with _store(cfg) as store:
        inventory = store.snapshot()
        records = OutageLedger(store.engine).outages(open_only=open_only, since=start)
    if unit is not None and unit not in inventory.units:
        raise NotFoundError(f"no unit called {unit!r}")
    units = units_below(inventory, unit) | {unit} if unit else None
    unit_of = Topology.build(inventory).unit_of
    rows = [
        (record, unit_of.get((record.kind, record.name)))
        for record in records
        if (units is None or unit_of.get((record.kind, record.name)) in units) and cause in (None, record.cause)
    ]
    if as_json:
        _print_json([{**r.to_dict(), "unit": u, "duration_seconds": r.duration} for r, u in rows])
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
            _duration(duration),
        )
    out.print(table) if rows else out.print("no outages")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}" if days else f"{hours:02d}:{minutes:02d}:{secs:02d}"


def main() -> None:
    """Run the CLI (the `netmon` console script)."""
    app()
