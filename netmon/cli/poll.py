"""`netmon poll`: poll the inventory's devices and services once and print the samples."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from netmon.cli.common import Command, ConfigOpt, JsonOpt, handled, load, out, plural, print_json, store_of
from netmon.errors import NotFoundError

if TYPE_CHECKING:
    from netmon.config import Config
    from netmon.monitor.rounds import RoundResult
    from netmon.pollers.base import Sample, Target
    from netmon.pollers.service import ServiceSample

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `poll` to *app*."""
    app.command("poll", cls=Command, short_help="Poll every device and service once and print the samples.")(poll)


@handled
def poll(
    once: Annotated[
        bool, typer.Option("--once", help="Poll once (the only mode; `netmon run` polls on schedule).")
    ] = True,
    device: Annotated[str | None, typer.Option(metavar="NAME", help="Only this device (or service, by name).")] = None,
    unit: Annotated[
        str | None, typer.Option(metavar="CODE", help="Only the devices of this unit (code) and the units below it.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Poll the inventory's devices and services once: ping, SNMP, HOST-RESOURCES on servers, http/tcp.

    A device that does not answer is reported, not an error: the exit code is 0. `netmon run`
    polls on schedule.

    Example: netmon poll --unit SL-LG --json
    """
    from netmon.inventory.views import units_below  # noqa: PLC0415 (lazy: keeps --help light)
    from netmon.monitor.rounds import targets_of  # noqa: PLC0415

    cfg = load(config)
    with store_of(cfg) as store:
        inventory = store.snapshot()
    units = units_below(inventory, unit) if unit else None
    targets = [t for t in targets_of(inventory) if (units is None or t.unit in units) and device in (None, t.device)]
    if device is not None and not targets:
        raise NotFoundError(f"no enabled device or service called {device!r}")
    results = asyncio.run(_poll_once(cfg, targets))
    if as_json:
        print_json([{"kind": s.kind, **s.to_dict()} for r in results for s in r.samples])
        return
    for result in results:
        if not result.samples:
            out.print(f"{result.poll_class}: no targets", markup=False)
            continue
        counts = ", ".join(f"{n} {status}" for status, n in sorted(result.by_status().items()))
        line = f"{result.poll_class}: {plural(len(result.samples), 'sample')} in {result.duration:.2f} s ({counts})"
        out.print(line, markup=False)
        for sample in sorted(result.samples, key=lambda s: (s.device, s.kind)):
            out.print(f"  {sample.device:<24} {sample.kind:<16} {_summary(sample)}", markup=False)


async def _poll_once(cfg: Config, targets: list[Target]) -> list[RoundResult]:
    from netmon.monitor.rounds import Pollers, run_round  # noqa: PLC0415

    pollers = Pollers(cfg)
    try:
        await pollers.check()
        return [
            await run_round(pollers, poll_class, targets, concurrency=cfg.polling.concurrency)
            for poll_class in pollers.classes
        ]
    finally:
        await pollers.aclose()


def _summary(sample: Sample) -> str:
    from netmon.pollers.base import HostSample, InterfacesSample, PingSample, SystemSample  # noqa: PLC0415
    from netmon.pollers.service import ServiceSample  # noqa: PLC0415

    if not sample.ok:
        return f"{sample.status}: {sample.error}"
    if isinstance(sample, PingSample):
        return f"ok {sample.received}/{sample.sent} replies, avg {(sample.rtt_avg or 0) * 1000:.3f} ms"
    if isinstance(sample, SystemSample):
        name = repr(sample.sys_name) if sample.sys_name is not None else "no sysName"  # "" is an empty one
        uptime = f"up {sample.sys_uptime / 100:.0f} s" if sample.sys_uptime is not None else "no sysUpTime"
        return f"ok {name}, {uptime}"
    if isinstance(sample, InterfacesSample):
        up = sum(1 for row in sample.interfaces if row.oper_status == 1)
        bits = {row.counter_bits for row in sample.interfaces}
        return (
            f"ok {plural(len(sample.interfaces), 'interface')}, {up} up, "
            f"{'/'.join(map(str, sorted(bits)))}-bit counters"
        )
    if isinstance(sample, HostSample):
        return f"ok {plural(len(sample.cpu_load), 'CPU')}, {plural(len(sample.storage), 'storage area')}"
    # an http/tcp check: `device` is the service's name
    return _check_summary(sample) if isinstance(sample, ServiceSample) else str(sample.status)


def _check_summary(sample: ServiceSample) -> str:
    status = f" status {sample.http_status}" if sample.http_status is not None else ""
    return f"ok {sample.check.value}{status} in {sample.duration * 1000:.1f} ms"
