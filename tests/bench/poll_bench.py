"""Benchmark: the real scheduler and pollers over 1,000, 5,000 and 10,000 devices, against fping and snmp_exporter.

Routers (4 interfaces) and switches (48) live in two namespaces of the scale lab, each served by
one wildcard snmpd. netmon runs full rounds: ping every 30 s with 3 packets 1 s apart, SNMP
system + IF-MIB every 60 s. fping and prometheus-snmp-exporter poll the same addresses with the
same work. Reports CPU per round and per device-poll, peak RSS, round duration and lag, samples
lost; writes var/bench/poll.json. Needs root (namespaces). Never asserts a timing.

Usage: python -m tests.bench.poll_bench [--scales 1000,5000,10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from netmon.config import Config
from netmon.inventory.models import Role
from netmon.kernel import Status, Target
from netmon.lab.faults import FaultLab, available
from netmon.lab.scale import Population, add_population, hosts
from netmon.monitor.rounds import Pollers, RoundResult
from netmon.monitor.scheduler import PollScheduler, RoundStats
from tests.bench.compare import fping_cost, snmp_exporter_cost

COMMUNITY = "bench"
ROUTER_SHARE = 0.7
CONFIG = {
    "snmp_profiles": {"bench": {"version": "2c", "community": COMMUNITY, "port": 161}},
    "polling": {
        "ping": {"interval": 30, "count": 3, "packet_interval": 1.0, "timeout": 1.0, "retries": 0},
        "snmp": {"interval": 60, "timeout": 2.0, "retries": 1},
        "concurrency": 512,
    },
}


def _targets(routers: Population, switches: Population, devices: int) -> list[Target]:
    n_routers = int(devices * ROUTER_SHARE)
    return [
        Target(device=f"r{i}", address=a, unit="B", role=Role.ROUTER, snmp="bench")
        for i, a in enumerate(hosts(routers.prefix, n_routers))
    ] + [
        Target(device=f"s{i}", address=a, unit="B", role=Role.SWITCH, snmp="bench")
        for i, a in enumerate(hosts(switches.prefix, devices - n_routers))
    ]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _phase(config: Config, poll_class: str, targets: list[Target], rounds: int) -> dict[str, Any]:
    """Run the real scheduler for *rounds* rounds of one poll class; measure the last round."""
    done = asyncio.Event()
    marks: list[tuple[float, RoundResult, RoundStats]] = []

    def on_round(result: RoundResult, stats: RoundStats) -> None:
        marks.append((time.process_time(), result, stats))
        if stats.rounds >= rounds:
            done.set()

    pollers = Pollers(config)
    await pollers.check()
    interval = config.polling.of(poll_class).interval
    scheduler = PollScheduler(pollers, lambda: targets, on_round=on_round, poll_classes=[poll_class])
    cpu_start = time.process_time()
    async with asyncio.timeout(interval * (rounds + 2)), scheduler:
        await done.wait()
    # CPU of one steady round: from the end of the previous round to the end of the last one.
    cpu_round = marks[-1][0] - (marks[-2][0] if len(marks) > 1 else cpu_start)
    last, stats = marks[-1][1], marks[-1][2]
    devices = len({s.device for s in last.samples})
    lost = sum(1 for s in last.samples if s.status is not Status.OK)
    per_poll = cpu_round / devices if devices else 0.0
    result = {
        "rounds": stats.rounds,
        "overruns": stats.overruns,
        "cpu_seconds_per_round": round(cpu_round, 3),
        "cores_at_interval": round(cpu_round / interval, 4),
        "round_duration_s": round(last.duration, 2),
        "lag_s": round(stats.last_lag or 0.0, 4),
        "devices": devices,
        "samples": len(last.samples),
        "samples_not_ok": lost,
        "by_status": last.by_status(),
        "peak_rss_mb": round(_rss_mb(), 1),
    }
    if poll_class == "ping":
        result["cpu_per_packet_us"] = round(per_poll / config.polling.ping.count * 1e6, 2)
    else:
        result["cpu_per_device_poll_ms"] = round(per_poll * 1e3, 4)
    return result


def _bench_scale(routers: Population, switches: Population, devices: int, rounds: int) -> dict[str, Any]:
    config = Config.model_validate(CONFIG)
    targets = _targets(routers, switches, devices)
    ping = asyncio.run(_phase(config, "ping", targets, rounds))
    snmp = asyncio.run(_phase(config, "snmp", targets, rounds))
    addresses = [t.address for t in targets]
    fping = fping_cost(addresses, count=3, interval_ms=1000, timeout_ms=1000)
    exporter = snmp_exporter_cost(addresses, community=COMMUNITY)
    return {
        "devices": devices,
        "routers_4_interfaces": sum(1 for t in targets if t.role is Role.ROUTER),
        "switches_48_interfaces": sum(1 for t in targets if t.role is Role.SWITCH),
        "netmon": {
            "ping": ping,
            "snmp": snmp,
            "cores_total": round(ping["cores_at_interval"] + snmp["cores_at_interval"], 4),
            "peak_rss_mb": round(_rss_mb(), 1),
        },
        "fping": fping,
        "snmp_exporter": exporter,
        "ratios": {
            "ping_cpu_per_packet_netmon_over_fping": round(ping["cpu_per_packet_us"] / fping["cpu_per_packet_us"], 3)
            if fping["cpu_per_packet_us"]
            else None,
            "snmp_cpu_per_device_poll_netmon_over_exporter": round(
                snmp["cpu_per_device_poll_ms"] / exporter["cpu_per_scrape_ms"], 3
            )
            if exporter["cpu_per_scrape_ms"]
            else None,
        },
    }


def main() -> None:
    """Build the scale lab, run every scale, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1000,5000,10000", help="device counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per poll class and scale (default 2)")
    parser.add_argument("-o", "--output", type=Path, default=Path("var/bench/poll.json"))
    args = parser.parse_args()
    reason = available()
    if reason is not None:
        sys.exit(f"poll benchmark: {reason}")
    scales = [int(s) for s in args.scales.split(",")]
    config = Config.model_validate(CONFIG)
    workdir = Path("var/bench/lab").resolve()
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "scales": []}
    with FaultLab(workdir) as lab:
        routers = add_population(
            lab,
            101,
            name="routers",
            prefix="198.19.0.0/17",
            interfaces=4,
            profiles=config.snmp_profiles,
            workdir=workdir,
        )
        switches = add_population(
            lab,
            102,
            name="switches",
            prefix="198.19.128.0/17",
            interfaces=48,
            profiles=config.snmp_profiles,
            workdir=workdir,
        )
        for devices in scales:
            scale = _bench_scale(routers, switches, devices, args.rounds)
            results["scales"].append(scale)
            print(json.dumps(scale, indent=2))  # noqa: T201 (a benchmark reports on stdout)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"written: {args.output}")  # noqa: T201


if __name__ == "__main__":
    main()
