"""Benchmark (issue 12): the /metrics exposition and the live view's memory, in-process, at 10,000 devices.

The benchmark mix (70 % routers with 4 ports, 30 % switches with 48, every port admin-up and
exported with `metrics.interfaces: all`), one unit, real state memories for every device and
interface. Measures, with `time.process_time`:

- the first render of /metrics and of /metrics/interfaces;
- steady scrapes every 15 s, where half the devices got a new ping sample and a quarter a new
  SNMP sample since the last (ping every 30 s, SNMP every 60 s): /metrics, and the whole
  /metrics/interfaces (unsharded);
- the memory tracemalloc counts for the live view after three rounds concluded (samples, states,
  kept exposition text).

Reports on stdout and writes a JSON file. Never asserts a timing.

Usage: .venv/bin/python -m tests.bench.exposition_bench [--devices 10000] [-o FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from netmon.kernel import Status
from netmon.monitor.live import LiveState
from netmon.monitor.rounds import RoundResult
from netmon.pollers.samples import InterfaceRow, InterfacesSample, PingSample, SystemSample
from netmon.sinks.exposition import Exposition
from netmon.sinks.exposition import Path as MetricsPath
from netmon.sinks.sections import sections
from tests.bench.daemon_probes import write_results
from tests.unit.test_exposition import T0, _live

RESULTS = Path(__file__).resolve().parent / "results"
_MAIN: tuple[MetricsPath, ...] = ("main",)
_INTERFACES: tuple[MetricsPath, ...] = ("interfaces",)


def _rows(ports: int, k: int) -> tuple[InterfaceRow, ...]:
    return tuple(
        InterfaceRow(
            if_index=i,
            name=f"port{i}",
            oper_status=1,
            admin_status=1,
            speed_bps=10**9,
            in_octets=2**40 + i * k,
            out_octets=2**40 + i * k + 1,
            in_errors=k,
            out_errors=0,
            in_discards=0,
            out_discards=0,
        )
        for i in range(1, ports + 1)
    )


class _World:
    def __init__(self, devices: int) -> None:
        self.live, self.config = _live(devices=devices, ports=4, interfaces="all")
        self.names = list(self.live.inventory.devices)
        self.ports = {name: 48 if i % 10 < 3 else 4 for i, name in enumerate(self.names)}

    def samples(self, names: list[str], ts: datetime, k: int, *, ping: bool, snmp: bool) -> list[Any]:
        out: list[Any] = []
        for name in names:
            if ping:
                out.append(PingSample(device=name, ts=ts, status=Status.OK, sent=3, received=3, rtt_avg=0.001))
            if snmp:
                out.append(SystemSample(device=name, ts=ts, status=Status.OK, sys_uptime=100 + k))
                out.append(
                    InterfacesSample(device=name, ts=ts, status=Status.OK, interfaces=_rows(self.ports[name], k))
                )
        return out

    async def round(self, live: LiveState, names: list[str], ts: datetime, k: int, *, ping: bool, snmp: bool) -> None:
        for poll_class, wanted in (("ping", ping), ("snmp", snmp)):
            if not wanted:
                continue
            samples = self.samples(names, ts, k, ping=poll_class == "ping", snmp=poll_class == "snmp")
            live.record(samples)
            result = RoundResult(poll_class=poll_class, started=ts, duration=1.0, samples=tuple(samples))
            await live.conclude_async(result, ts)


async def _timed(exposition: Exposition, paths: tuple[MetricsPath, ...], now: datetime) -> dict[str, Any]:
    started = time.process_time()
    body = await exposition.render(paths, now=now)
    return {
        "cpu_s": round(time.process_time() - started, 3),
        "bytes": len(body),
        "series": body.count(b"\n") - 2 * body.count(b"# TYPE"),
    }


async def run(devices: int) -> dict[str, Any]:
    """Return the measurements for *devices* devices."""
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    world = _World(devices)
    live = world.live
    exposition = Exposition(lambda: live, sections(), lambda: world.config.metrics)
    for k in range(3):  # three full rounds: every object judged, states and samples as in a running daemon
        await world.round(live, world.names, T0 + timedelta(seconds=60 * k), k, ping=True, snmp=True)
    now = T0 + timedelta(seconds=120)
    first = {"main": await _timed(exposition, _MAIN, now), "interfaces": await _timed(exposition, _INTERFACES, now)}
    traced = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    steady = []
    for step in range(4):  # a scrape every 15 s: ping every 30 s (half the devices), SNMP every 60 s (a quarter)
        now += timedelta(seconds=15)
        await world.round(live, world.names[step % 2 :: 2], now, 3 + step, ping=True, snmp=False)
        await world.round(live, world.names[step % 4 :: 4], now, 3 + step, ping=False, snmp=True)
        renders = exposition.renders
        main = await _timed(exposition, _MAIN, now)
        main["objects_rendered"] = exposition.renders - renders
        steady.append({"main": main, "interfaces": await _timed(exposition, _INTERFACES, now)})
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "devices": devices,
        "mix": {"router_4_ports": devices - devices * 3 // 10, "switch_48_ports": devices * 3 // 10},
        "first_render": first,
        "steady_scrapes": steady,
        "live_view_traced_mb": round(traced / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.devices))
    write_results(result, args.output or RESULTS / f"exposition-{time.strftime('%Y-%m-%d')}-{args.devices}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
