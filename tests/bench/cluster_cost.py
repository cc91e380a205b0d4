"""What one poller of two costs at 10,000 devices, and how long a takeover takes (issue 19).

    .venv/bin/python -m tests.bench.cluster_cost [--devices 10000] [--quiet 60] > result.json

Two `netmon run` processes (c1, c2, group `default`) on one fresh PostgreSQL schema poll
*devices* loopback addresses by ping (interval 30 s, 3 echoes, as tests/bench/daemon_bench.py;
no SNMP: the lab's agents and its machine-wide lock are not needed). After both are ready and
a settle period, each one's CPU (utime+stime from /proc) and RSS are sampled for *quiet*
seconds; then c2 is SIGKILLed and the time until c1 owns every device is measured, and c1 is
sampled again alone. Reports JSON; asserts nothing (a benchmark reports timings).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.conftest import PG_URL, free_tcp_port
from tests.monitoring import FAST, import_inventory, monitor_config, write_config

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _inventory(devices: int, per_unit: int = 100) -> str:
    lines = ["units:", "  - {code: P, name: Tỉnh, level: province}"]
    units = -(-devices // per_unit)
    lines += [f"  - {{code: X{u}, name: Xã {u}, level: commune, type: xã, parent: P}}" for u in range(units)]
    lines.append("devices:")
    for i in range(devices):
        lines.append(
            f"  - {{name: d{i}, unit: X{i // per_unit}, role: router, address: 127.64.{i // 250}.{i % 250 + 1}}}"
        )
    return "\n".join(lines) + "\n"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20


def _metric(port: int, prefix: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    except OSError:
        return -1.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def _sample(pids: dict[str, int], seconds: float) -> dict[str, Any]:
    start = {name: _cpu_s(pid) for name, pid in pids.items()}
    rss: dict[str, list[float]] = {name: [] for name in pids}
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        for name, pid in pids.items():
            rss[name].append(_rss_mb(pid))
        time.sleep(1.0)  # sampling period of a measurement, not synchronisation
    spent = time.monotonic() - began
    return {
        name: {
            "cores": round((_cpu_s(pid) - start[name]) / spent, 4),
            "rss_median_mb": round(statistics.median(rss[name]), 1),
            "rss_max_mb": round(max(rss[name]), 1),
        }
        for name, pid in pids.items()
    } | {"seconds": round(spent, 1)}


def _wait(predicate: Any, within: float, what: str) -> float:
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > within:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)  # polling /metrics, bounded
    return time.monotonic() - began


def main() -> None:
    """Run the measurement and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--quiet", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=40.0)
    parser.add_argument("--failover", type=float, default=15.0)
    args = parser.parse_args()
    schema_name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema_name}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema_name}"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    result: dict[str, Any] = {"devices": args.devices, "loadavg_at_start": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory() as folder:
            began = time.monotonic()
            import_inventory(url, _inventory(args.devices), Path(folder), {})
            result["import_s"] = round(time.monotonic() - began, 1)
            polling = {**FAST["polling"], "ping": {"interval": 30, "timeout": 1.0, "retries": 0, "count": 3}}
            ports = {}
            for name in ("c1", "c2"):
                ports[name] = free_tcp_port()
                config = monitor_config(
                    url, {}, http={"listen": f"127.0.0.1:{ports[name]}"},
                    poller={"name": name, "failover_delay": args.failover},
                )  # fmt: skip
                path = write_config(config, Path(folder) / f"{name}.yaml", polling=polling)
                env = {**os.environ, "NETMON_CONFIG": str(path), "NETMON_LOGGING__LEVEL": "warning"}
                log = (Path(folder) / f"{name}.log").open("wb")
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "netmon", "run"], env=env, stdout=log, stderr=log
                )
            owned = 'netmon_poller_owned_objects{kind="device"'
            result["ready_s"] = round(
                _wait(lambda: _metric(ports["c1"], owned) + _metric(ports["c2"], owned) == args.devices, 300, "ready"),
                1,
            )
            result["owned"] = {name: _metric(port, owned) for name, port in ports.items()}
            time.sleep(args.settle)  # let the first rounds and their writes pass before measuring
            result["two_pollers"] = _sample({n: p.pid for n, p in processes.items()}, args.quiet)
            processes["c2"].send_signal(signal.SIGKILL)
            processes["c2"].wait()
            result["takeover_s"] = round(
                _wait(lambda: _metric(ports["c1"], owned) == args.devices, args.failover + 120, "takeover"), 1
            )
            time.sleep(args.settle)
            result["one_poller_after_takeover"] = _sample({"c1": processes["c1"].pid}, args.quiet)
            result["failover_delay_s"] = args.failover
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema_name}" cascade'))
        admin.dispose()
    print(json.dumps(result, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
