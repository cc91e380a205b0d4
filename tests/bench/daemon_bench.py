"""Benchmark: the whole daemon (`netmon run`) with the scale lab, a real Prometheus scraping, and MQTT on.

What runs: the benchmark inventory (70 % routers with 4 interfaces, 30 % switches with 48; see
daemon_lab.py) served by the scale lab; `netmon run` as a subprocess on SQLite or on a PostgreSQL
schema of its own, ping x3 every 30 s and SNMP every 60 s, MQTT to the local Mosquitto under a
topic prefix of its own; Debian's `prometheus` scraping /metrics every 15 s and /metrics/interfaces
as config/prometheus/prometheus.yml does (every 60 s, timeout 30 s). Then fping and
prometheus-snmp-exporter do the same polling work (tests/bench/compare.py).

Phases, all bounded: start and first ping round (/readyz), settle, a quiet window without
scrapes, a few scrapes of our own (CPU, bytes, series of one scrape), then Prometheus for
--duration seconds while /healthz is probed every 0.25 s and the API is asked for indicators
and outages (in a thread, from a third of the phase on, until 60 s after it). Reports cores,
RSS (steady, peak), round overruns, false transitions (every lab device answers, so any
down/unreachable is false), scrape cost, Prometheus' scrape_duration_seconds, /healthz latency
during and outside scrapes, API latency, the load of the (shared) machine, and with --profile
the py-spy top 10 of the netmon process during scrapes. With --prometheus-restart S, Prometheus
is then restarted on the TSDB it left and scrapes for S seconds more: the first scrape of each
target without the creation of its series (which a fresh TSDB counts in scrape_duration_seconds).
Never asserts a timing. Stops everything it starts.

Usage: python -m tests.bench.daemon_bench --devices 1000 --db sqlite|postgres [--profile] [--loopwatch] [--census]
       make bench-daemon DEVICES=1000 DB=sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netmon.config import Config
from tests.bench import cpuprofile, heapcensus, loopwatch
from tests.bench.compare import fping_cost, snmp_exporter_cost
from tests.bench.daemon_lab import COMMUNITY, BenchWorld, bench_database, bench_world, false_transitions
from tests.bench.daemon_probes import (
    HealthProber,
    ProcSampler,
    cpu_seconds,
    http_get,
    percentiles,
    profile_top,
    rss_mb,
    series_count,
    write_results,
)
from tests.conftest import free_tcp_port
from tests.monitoring import write_config
from tests.prom import RunningPrometheus, running_prometheus

RESULTS = Path(__file__).resolve().parent / "results"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
#: How long API requests may go on after the scrape phase (s): a slow answer is measured, within bounds.
_API_GRACE = 60.0
#: As config/prometheus/prometheus.yml scrapes the interface families, sharded as docs/metrics.md says.
_INTERFACE_JOB = {"scrape_interval": "60s", "scrape_timeout": "30s"}
#: Interface series per shard that docs/metrics.md advises (a scrape of about 3 MB).
_SERIES_PER_SHARD = 25_000
_WANTED = ("netmon_poll_", "netmon_mqtt_", "netmon_device_up", "netmon_outages_open", "netmon_exposition_duration")


def _pause(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait *seconds*; fail at once if netmon exits meanwhile (a pause, bounded, not synchronisation)."""
    try:
        process.wait(timeout=max(0.0, seconds))
    except subprocess.TimeoutExpired:
        return
    raise RuntimeError(f"netmon run exited with {process.returncode} during the benchmark")


def _config(args: argparse.Namespace, world: BenchWorld, url: str, port: int, prefix: str) -> Config:
    return Config.model_validate(
        {
            "database": {"url": url},
            "snmp_profiles": {"bench": world.profile},
            "polling": {
                "ping": {"interval": args.ping_interval, "count": 3, "packet_interval": 1.0, "timeout": 1.0},
                "snmp": {"interval": args.snmp_interval, "timeout": 2.0, "retries": 1},
                "host_resources": {"interval": 300, "timeout": 3.0, "retries": 1},
                "concurrency": 512,
            },
            "http": {"listen": f"127.0.0.1:{port}"},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix},
            "logging": {"level": "warning", "format": "json"},
        }
    )


@contextlib.contextmanager
def _netmon(
    config: Path, log: Path, watch: Path | None = None, census: Path | None = None, cpu: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `netmon run` until the block ends; SIGTERM, then SIGKILL after 60 s.

    *watch*: the `loopwatch` file; *census*: the `heapcensus` path prefix (a census at each SIGUSR2);
    *cpu*: the `cpuprofile` path prefix (a CPU profile between two SIGUSR1s).
    """
    command = [sys.executable, "-m", "netmon", "run", "--config", str(config)]
    env = dict(os.environ)
    if cpu is not None:
        for old in cpu.parent.glob(f"{cpu.name}.*"):
            old.unlink()
        env["NETMON_CPUPROFILE"] = str(cpu)
    if watch is not None or census is not None or cpu is not None:
        site = Path(__file__).resolve().parent / "loopwatch_site"
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(site.parents[2]), env.get("PYTHONPATH", "")])
    if watch is not None:
        watch.unlink(missing_ok=True)
        env["NETMON_LOOPWATCH"] = str(watch)
    if census is not None:
        for old in census.parent.glob(f"{census.name}-*.txt"):
            old.unlink()
        env["NETMON_HEAPCENSUS"] = str(census)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _census(process: subprocess.Popen[bytes], prefix: Path, number: int, timeout: float = 120.0) -> dict[str, Any]:
    """Ask netmon for heap census *number* (SIGUSR2, `heapcensus`) and return its summary once written."""
    path = Path(f"{prefix}-{number}.txt")
    process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # polling a file another process writes, bounded by *timeout*
    return heapcensus.summary(path)


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float) -> float:
    """Poll /readyz until 200; return the seconds it took (RuntimeError at the deadline)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if http_get(port, "/readyz", 5.0)[0] == 200:
                return time.monotonic() - started
        except (OSError, http.client.HTTPException):
            pass
        _pause(process, 0.5)
    raise RuntimeError(f"netmon was not ready within {timeout:.0f} s")


def _own_scrapes(
    process: subprocess.Popen[bytes], port: int, count: int, quiet_cores: float, shards: int
) -> dict[str, Any]:
    """Scrape /metrics and one shard of /metrics/interfaces *count* times each: wall, netmon CPU, size.

    CPU is less the quiet rate. The interfaces are read as Prometheus reads them (one of *shards*):
    a whole unsharded scrape at 10k (210 MB) is what the docs advise against, and its peak would
    stay in the RSS measured after it. The last scrape's poll counters are kept.
    """
    rows = []
    counters: dict[str, Any] = {}
    interfaces = f"/metrics/interfaces?shard=0&shards={shards}" if shards > 1 else "/metrics/interfaces"
    for _ in range(max(1, count)):
        for path in ("/metrics", interfaces):
            before = cpu_seconds(process.pid)
            status, body, wall = http_get(port, path, 300.0)
            cpu = cpu_seconds(process.pid) - before
            if path == "/metrics":
                counters = _exposition_counters(body)
            rows.append(
                {
                    "path": path,
                    "status": status,
                    "wall_s": round(wall, 3),
                    "cpu_s": round(max(0.0, cpu - quiet_cores * wall), 3),
                    "bytes": len(body),
                    "series": series_count(body),
                }
            )
        _pause(process, 3.0)
    return {"scrapes": rows, "rss_after_mb": round(rss_mb(process.pid)[0], 1), "counters": counters}


def _exposition_counters(body: bytes) -> dict[str, Any]:
    """Pick the poll, MQTT and state counters out of one exposition."""
    picked: dict[str, dict[str, float]] = {}
    for raw in body.decode(errors="replace").splitlines():
        if not raw.startswith(_WANTED):
            continue
        match = _SAMPLE.match(raw)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k in ("poll_class", "status", "path", "le"))
        if match["name"] == "netmon_device_up":
            key = match["value"]
        picked.setdefault(match["name"], {})
        picked[match["name"]][key] = picked[match["name"]].get(key, 0.0) + float(match["value"])
    rounds = picked.get("netmon_poll_round_duration_seconds_sum", {})
    counts = picked.get("netmon_poll_round_duration_seconds_count", {})
    return {
        "overruns": picked.get("netmon_poll_overruns_total", {}),
        "rounds": picked.get("netmon_poll_rounds_total", {}),
        "mean_round_s": {k: round(v / counts[k], 2) for k, v in rounds.items() if counts.get(k)},
        "lag_s": picked.get("netmon_poll_round_lag_seconds", {}),
        "samples": picked.get("netmon_poll_samples_total", {}),
        "devices_up_now": picked.get("netmon_device_up", {}),
        "mqtt": {k: v.get("", 0.0) for k, v in picked.items() if k.startswith("netmon_mqtt_")},
        "render": {
            part: picked.get(f"netmon_exposition_duration_seconds_{part}", {}) for part in ("bucket", "sum", "count")
        },
    }


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Overruns, rounds and samples by status counted between two expositions (after minus before).

    With `render_s`: netmon's own time to make each scrape's text in between, per path (the
    `netmon_exposition_duration_seconds` histogram): count, mean, and the bucket bounds that hold
    the 99th percentile and the slowest. Prometheus' `scrape_duration_seconds` is that plus the
    transfer and its own ingestion. (An exposition holds the renders before its own: the last of
    *before*'s renders is counted in, the one that made *after* is not.)
    """
    found: dict[str, Any] = {
        family: {key: value - before.get(family, {}).get(key, 0.0) for key, value in after.get(family, {}).items()}
        for family in ("overruns", "rounds", "samples")
    }
    render: dict[str, Any] = {}
    was, now = before.get("render", {}), after.get("render", {})
    for key, total in now.get("count", {}).items():
        count = total - was.get("count", {}).get(key, 0.0)
        path = key.removeprefix("path=")
        if count <= 0:
            continue
        seconds = now["sum"].get(key, 0.0) - was.get("sum", {}).get(key, 0.0)
        buckets = sorted(
            (float(k.split(",")[0].removeprefix("le=")), v - was.get("bucket", {}).get(k, 0.0))
            for k, v in now.get("bucket", {}).items()
            if k.endswith(f",path={path}")
        )
        render[path] = {
            "count": int(count),
            "mean": round(seconds / count, 3),
            "p99_le": _bound(buckets, 0.99 * count),
            "max_le": _bound(buckets, count),
        }
    found["render_s"] = render
    return found


def _bound(buckets: list[tuple[float, float]], seen: float) -> float | None:
    """The upper bound of the first cumulative bucket (le, count) that holds *seen* observations."""
    return next((le for le, count in buckets if count >= seen), None)


def _prom_scrapes(
    prom: RunningPrometheus, seconds: float, since: float = 0.0
) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Read Prometheus' own scrape series of the phase, per job; return a summary and the scrape windows (wall).

    Besides all scrapes, `first_duration_s` and `later_duration_s` split each target's first scrape
    (Prometheus creates its series in the TSDB head then: 1 to 9 s at 10k with the targets' first
    scrapes bunched together, measured) from the steady scrapes after it. Scrapes before *since*
    (Unix time: those of an earlier Prometheus on the same TSDB) are left out.
    """
    span = f"{int(seconds) + 1}s"
    summary: dict[str, Any] = {}
    windows: list[tuple[float, float]] = []
    for job in ("netmon", "netmon-interfaces.*"):

        def raw(metric: str, job: str = job) -> list[list[tuple[float, float]]]:
            """One list of (timestamp, value) per series (target), oldest first."""
            answer = prom.query(f'{metric}{{job=~"{job}"}}[{span}]', timeout=60)
            result = answer.get("data", {}).get("result", []) if answer.get("status") == "success" else []
            return [[(float(t), float(v)) for t, v in series["values"] if float(t) >= since] for series in result]

        per_target = raw("scrape_duration_seconds")
        durations = [point for series in per_target for point in series]
        samples = [point for series in raw("scrape_samples_scraped") for point in series]
        up = [point for series in raw("up") for point in series]
        values = [v for _, v in durations]
        firsts = [series[0][1] for series in per_target if series]
        later = [v for series in per_target for _, v in series[1:]]
        summary[job.rstrip(".*")] = {
            "scrapes": len(durations),
            "failed": sum(1 for _, v in up if v == 0),
            "duration_s": {**percentiles(values), "avg": round(sum(values) / len(values), 3) if values else None},
            "first_duration_s": percentiles(firsts),
            "later_duration_s": percentiles(later),
            "samples_scraped_max": max((v for _, v in samples), default=None),
        }
        windows += [(t, t + v) for t, v in durations]
    return summary, sorted(windows)


def _api(port: int, times: int, deadline: float, found: dict[str, Any]) -> None:
    """Ask the API for live indicators and for outages up to *times* times each, until *deadline* (monotonic).

    Fills *found* per path: latency (ms), bytes, statuses; a request cut off by the deadline is
    recorded by its error's name. Runs in a thread beside the scrape phase, so a slow API does not
    stretch the phase.
    """
    for path in ("/api/v1/indicators", "/api/v1/outages"):
        latencies: list[float] = []
        sizes: list[int] = []
        statuses: list[int | str] = []
        for _ in range(times):
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                break
            try:
                status, body, wall = http_get(port, path, remaining)
            except (OSError, http.client.HTTPException) as exc:
                statuses.append(type(exc).__name__)
                continue
            latencies.append(wall * 1000)
            sizes.append(len(body))
            statuses.append(status)
        found[path] = {"latency_ms": percentiles(latencies), "bytes": max(sizes, default=0), "status": statuses}


def _clear_retained(prefix: str) -> None:
    """Remove the run's retained state messages from the shared broker (bounded; best effort)."""
    command = ["mosquitto_sub", "-h", "127.0.0.1", "-p", "1883", "-t", f"{prefix}/#", "--remove-retained", "-W", "5"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)


def _machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text(encoding="ascii").split()[:3],
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip(),
    }


def _prometheus_phase(
    args: argparse.Namespace,
    process: subprocess.Popen[bytes],
    port: int,
    workdir: Path,
    result: dict[str, Any],
    *,
    agents: tuple[int, ...] = (),
) -> tuple[float, float]:
    """Let Prometheus scrape for --duration s while /healthz is probed, the API asked, and py-spy records.

    Fills *result* (with the CPU of the lab's *agents* over the same phase); returns the phase's
    monotonic start and end.
    """
    interval = f"{args.scrape_interval}s"
    shutil.rmtree(
        workdir / "prom", ignore_errors=True
    )  # an earlier run's TSDB: its WAL replay outlasts the start-up wait
    with (
        running_prometheus(
            workdir / "prom",
            targets=[f"127.0.0.1:{port}"],
            scrape_interval=interval,
            jobs={"netmon-interfaces": {**_INTERFACE_JOB, "shards": args.interface_shards}},
        ) as prom,
        HealthProber(port) as prober,
    ):
        phase_start, prom_cpu = time.monotonic(), cpu_seconds(prom.process.pid)
        agents_cpu = sum(map(_cpu_or_zero, agents))
        profile: dict[str, Any] = {}
        profiler = None
        if args.profile:
            seconds = max(5, min(args.profile_seconds, int(args.duration) - 5))

            def record() -> None:
                try:
                    profile.update(profile_top(process.pid, seconds, workdir / "py-spy.txt"))
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    profile["error"] = str(exc)

            profiler = threading.Thread(target=record, name="py-spy", daemon=True)
            profiler.start()
        _pause(process, args.duration / 3)
        api: dict[str, Any] = {}
        api_deadline = phase_start + args.duration + _API_GRACE
        asker = threading.Thread(target=_api, args=(port, args.api_requests, api_deadline, api), name="api")
        asker.start()
        _pause(process, phase_start + args.duration - time.monotonic())
        phase_end, agents_cpu = time.monotonic(), sum(map(_cpu_or_zero, agents)) - agents_cpu
        asker.join(timeout=max(0.0, api_deadline - time.monotonic()) + 10)
        result["api"] = api
        if profiler is not None:
            profiler.join(timeout=args.profile_seconds + 90)
            result["profile"] = profile
        prom_cores = (cpu_seconds(prom.process.pid) - prom_cpu) / (phase_end - phase_start)
        result["prometheus_cpu_cores"] = round(prom_cores, 4)
        result["lab_agents_cores_with_scrapes"] = round(agents_cpu / (phase_end - phase_start), 4)
        result["prometheus_rss_mb"] = round(rss_mb(prom.process.pid)[1], 1)
        result["prometheus_scrapes"], windows = _prom_scrapes(prom, phase_end - phase_start)
    result["healthz"] = prober.split(windows)
    if args.prometheus_restart:
        result["after_prometheus_restart"] = _restarted(args, process, port, workdir)
    return phase_start, phase_end


def _restarted(args: argparse.Namespace, process: subprocess.Popen[bytes], port: int, workdir: Path) -> dict[str, Any]:
    """Start Prometheus again on the TSDB it left, scrape --prometheus-restart s; its scrapes and /healthz.

    A restarted Prometheus replays its WAL, so its head already holds the series: what its first
    scrape of each target costs without creating them.
    """
    interval = f"{args.scrape_interval}s"
    started = time.monotonic()
    with running_prometheus(
        workdir / "prom",
        targets=[f"127.0.0.1:{port}"],
        scrape_interval=interval,
        jobs={"netmon-interfaces": {**_INTERFACE_JOB, "shards": args.interface_shards}},
        startup_timeout=600.0,
    ) as prom:
        since, ready_s = time.time(), time.monotonic() - started
        with HealthProber(port) as prober:
            begin, prom_cpu = time.monotonic(), cpu_seconds(prom.process.pid)
            _pause(process, args.prometheus_restart)
            seconds = time.monotonic() - begin
            prom_cores = (cpu_seconds(prom.process.pid) - prom_cpu) / seconds
            scrapes, windows = _prom_scrapes(prom, seconds, since=since)
    return {
        "replay_and_start_s": round(ready_s, 1),
        "prometheus_cpu_cores": round(prom_cores, 4),
        "prometheus_scrapes": scrapes,
        "healthz": prober.split(windows),
    }


def _cpu_profile(process: subprocess.Popen[bytes], prefix: Path, timeout: float = 180.0) -> dict[str, Any]:
    """End netmon's CPU profile (the second SIGUSR1, `cpuprofile`) and return its summary once written."""
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    written = Path(f"{prefix}.json")
    while not written.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)  # polls a file another process writes: bounded by *timeout*
    return cpuprofile.summary(prefix)


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except (OSError, ValueError):  # an agent that ended
        return 0.0


def _run_daemon(args: argparse.Namespace, world: BenchWorld, url: str, workdir: Path) -> dict[str, Any]:
    port, prefix = free_tcp_port(), f"bench-{uuid.uuid4().hex[:8]}"
    config = write_config(_config(args, world, url, port, prefix), workdir / "netmon.json")
    result: dict[str, Any] = {"mqtt_topic_prefix": prefix}
    try:
        watch = workdir / "loopwatch.log" if args.loopwatch else None
        census = workdir / "census" if args.census else None
        cpu = workdir / "cpuprofile" if args.cpu_profile else None
        with (
            _netmon(config, workdir / "netmon.log", watch, census, cpu) as process,
            ProcSampler(process.pid) as sampler,
        ):
            result["ready_s"] = round(_wait_ready(process, port, args.ready_timeout), 1)
            result["rss_at_ready_mb"] = round(rss_mb(process.pid)[0], 1)
            _pause(process, args.settle)
            quiet_start = time.monotonic()
            _pause(process, args.quiet)
            quiet = sampler.between(quiet_start, time.monotonic())
            result["quiet"] = quiet
            if census is not None:
                result["heap_census"] = {"quiet": _census(process, census, 1)}
            result["own_scrapes"] = _own_scrapes(
                process, port, args.own_scrapes, quiet["cores"] or 0.0, args.interface_shards
            )
            result["rss_peak_before_prometheus_mb"] = round(rss_mb(process.pid)[1], 1)
            if cpu is not None:
                process.send_signal(signal.SIGUSR1)  # the profile covers the Prometheus phase
            phase_start, phase_end = _prometheus_phase(args, process, port, workdir, result, agents=world.agent_pids)
            if cpu is not None:
                result["cpu_profile"] = _cpu_profile(process, cpu)
            with_scrapes = sampler.between(phase_start, phase_end)
            result["with_scrapes"] = with_scrapes
            if census is not None:
                result["heap_census"]["with_scrapes"] = _census(process, census, 2)
            if quiet["cores"] is not None and with_scrapes["cores"] is not None:
                extra = with_scrapes["cores"] - quiet["cores"]
                result["scrape_cpu_s_from_rates"] = round(extra * args.scrape_interval, 3)
            status, body, _ = http_get(port, "/metrics", 300.0)
            result["counters"] = _exposition_counters(body) if status == 200 else {"error": status}
            result["during_prometheus"] = _delta(result["own_scrapes"].pop("counters"), result["counters"])
            result["rss_peak_mb"] = round(rss_mb(process.pid)[1], 1)
    finally:
        _clear_retained(prefix)
    if args.loopwatch:
        result["loopwatch"] = loopwatch.summary(workdir / "loopwatch.log")
    result["db"] = false_transitions(url, host_interfaces=world.lab == "loopback")
    return result


def _compare(args: argparse.Namespace, world: BenchWorld, daemon: dict[str, Any]) -> dict[str, Any]:
    addresses = world.addresses
    fping = fping_cost(addresses, count=3, interval_ms=1000, timeout_ms=1000)
    targets = [f"{a}:{world.profile.port}" for a in addresses]
    exporter = snmp_exporter_cost(targets, community=COMMUNITY, port=world.profile.port)
    reference = fping["cpu_seconds"] / args.ping_interval + exporter["cpu_seconds"] / args.snmp_interval
    cores = daemon.get("with_scrapes", {}).get("cores")
    quiet = daemon.get("quiet", {}).get("cores")
    return {
        "fping": fping,
        "snmp_exporter": exporter,
        "reference_cores_fping_plus_exporter": round(reference, 4),
        "ratio_netmon_quiet_over_reference": round(quiet / reference, 2) if quiet and reference else None,
        "ratio_netmon_with_scrapes_over_reference": round(cores / reference, 2) if cores and reference else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run one benchmark (one size, one database); return the results."""
    workdir = (args.workdir or Path(f"var/bench/daemon-{args.devices}-{args.db}")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "devices": args.devices,
        "db": args.db,
        "machine_at_start": _machine(),
        "schedule": {
            "ping": {"interval_s": args.ping_interval, "count": 3},
            "snmp": {"interval_s": args.snmp_interval},
            "scrape_interval_s": args.scrape_interval,
            "interface_jobs": {**_INTERFACE_JOB, "shards": args.interface_shards},
            "phases_s": {"settle": args.settle, "quiet": args.quiet, "prometheus": args.duration},
        },
    }
    with bench_world(args.devices, args.lab, workdir / "lab", nice=args.lab_nice) as world:
        results["lab"] = world.lab
        results["lab_agents"] = {"processes": len(world.agent_pids), "nice": args.lab_nice}
        results["mix"] = world.mix
        results["links"] = len(world.inventory["links"])
        results["units"] = len(world.inventory["units"])
        with bench_database(args.db, world, workdir) as url:
            results["netmon"] = _run_daemon(args, world, url, workdir)
        results["machine_after_netmon"] = _machine()
        if args.compare:
            results["compare"] = _compare(args, world, results["netmon"])
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return results


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=1000, help="inventory size (default 1000)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--lab", choices=("auto", "namespace", "loopback"), default="auto", help="namespace needs root")
    p.add_argument(
        "--lab-nice",
        type=int,
        default=10,
        help="nice value of the lab's agents, which stand for remote devices (default 10; 0: as started)",
    )
    p.add_argument("--ping-interval", type=float, default=30.0)
    p.add_argument("--snmp-interval", type=float, default=60.0)
    p.add_argument("--scrape-interval", type=int, default=15, help="Prometheus scrape interval (s)")
    p.add_argument(
        "--interface-shards", type=int, default=0, help="jobs for /metrics/interfaces (default: 25k series each)"
    )
    p.add_argument("--settle", type=float, default=60.0, help="seconds after ready before measuring")
    p.add_argument("--quiet", type=float, default=60.0, help="seconds measured without scrapes")
    p.add_argument("--duration", type=float, default=180.0, help="seconds with Prometheus scraping")
    p.add_argument("--own-scrapes", type=int, default=3, help="scrapes of our own, measured one by one")
    p.add_argument(
        "--prometheus-restart",
        type=float,
        default=0.0,
        help="then restart Prometheus on its TSDB and measure this many seconds of scrapes (default: no restart)",
    )
    p.add_argument("--api-requests", type=int, default=3, help="requests per API path")
    p.add_argument("--ready-timeout", type=float, default=0.0, help="default: 60 s + 20 ms per device")
    p.add_argument("--profile", action="store_true", help="py-spy record of netmon during the scrapes")
    p.add_argument("--profile-seconds", type=int, default=60)
    p.add_argument(
        "--census", action="store_true", help="heap census after the quiet and the scrape phases (heapcensus.py)"
    )
    p.add_argument(
        "--cpu-profile",
        action="store_true",
        help="profile netmon's CPU (yappi, CPU clock) over the Prometheus phase (tests/bench/cpuprofile.py)",
    )
    p.add_argument(
        "--loopwatch", action="store_true", help="log long loop iterations and full GCs (tests/bench/loopwatch.py)"
    )
    p.add_argument("--no-compare", dest="compare", action="store_false", help="skip fping and snmp_exporter")
    p.add_argument("--workdir", type=Path, default=None, help="default var/bench/daemon-N-DB")
    p.add_argument("-o", "--output", type=Path, default=None, help="default tests/bench/results/daemon-DATE-N-DB.json")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print and write the results."""
    args = parser().parse_args(argv)
    if not args.interface_shards:  # the benchmark mix has 17.2 ports a device, 10 series a port
        args.interface_shards = max(1, -(-args.devices * 172 // _SERIES_PER_SHARD))
    if not args.ready_timeout:
        args.ready_timeout = 60.0 + 0.02 * args.devices
    results = run(args)
    flags = (("-profile", args.profile), ("-cpuprofile", args.cpu_profile), ("-loopwatch", args.loopwatch))
    suffix = next((name for name, on in flags if on), "")
    output = args.output or RESULTS / f"daemon-{time.strftime('%Y-%m-%d')}-{args.devices}-{args.db}{suffix}.json"
    write_results(results, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
