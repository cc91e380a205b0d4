"""Benchmark (issue 12): Prometheus' own share of a scrape of netmon, with netmon out of the way.

Prometheus' `scrape_duration_seconds` runs from the request to the end of its append to the TSDB
(`scrapeAndReport` in Prometheus' scrape/scrape.go reports `time.Since(start)` in a deferred call,
after `append`), so a target's first scrape includes creating each of its series in the head. This
renders netmon's exposition for N devices once, in-process (the exposition benchmark's world: 70 %
routers with 4 ports, 30 % switches with 48, `metrics.interfaces: all`), serves those bytes from
memory as the daemon benchmark's jobs ask for them (/metrics every --scrape-interval seconds, the
interface families in --shards shard jobs every --interfaces-interval seconds), lets a fresh
Prometheus scrape them for --duration seconds, and reports each job's first and later
`scrape_duration_seconds` beside the server's own time per request. The difference is
Prometheus': the transfer on loopback, parsing, and the append.

`first_scrapes` lists each target's first scrape by its start, with how many other first scrapes
ran at the same time, and `first_by_overlap` sums them up by that count: Prometheus offsets each
target's scrapes by a hash of its labels, so some first scrapes fall together by chance and share
its CPU. With --pprof FILE, Prometheus' own CPU profile of the first --interfaces-interval seconds
(its /debug/pprof/profile) is written to FILE, and, where `go` is installed, its top functions to
FILE with the suffix .top.txt (`go tool pprof -top`).

Reports on stdout and writes a JSON file. Never asserts a timing. Stops what it starts.

Usage: .venv/bin/python -m tests.bench.prometheus_ingest [--devices 10000] [--duration 150] [--pprof FILE] [-o FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from netmon.sinks.exposition import Exposition
from netmon.sinks.exposition import Path as MetricsPath
from netmon.sinks.sections import sections
from tests.bench.daemon_bench import _INTERFACE_JOB, _SERIES_PER_SHARD, _prom_scrapes
from tests.bench.daemon_probes import cpu_seconds, percentiles, series_count, write_results
from tests.bench.exposition_bench import _World
from tests.prom import RunningPrometheus, running_prometheus
from tests.unit.test_exposition import T0

RESULTS = Path(__file__).resolve().parent / "results"
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def _texts(devices: int, shards: int) -> dict[str, bytes]:
    """Return netmon's exposition for *devices*: "/metrics", and "I" for each interface shard I of *shards*."""
    world = _World(devices)
    live = world.live
    for k in range(3):  # every object judged and sampled, as in a running daemon
        await world.round(live, world.names, T0 + timedelta(seconds=60 * k), k, ping=True, snmp=True)
    now = T0 + timedelta(seconds=120)
    exposition = Exposition(lambda: live, sections(), lambda: world.config.metrics)
    main: tuple[MetricsPath, ...] = ("main",)
    interfaces: tuple[MetricsPath, ...] = ("interfaces",)
    texts = {"/metrics": await exposition.render(main, now=now)}
    for shard in range(shards):
        texts[str(shard)] = await exposition.render(interfaces, (shard, shards), now=now)
    return texts


@contextmanager
def _serving(texts: dict[str, bytes]) -> Iterator[tuple[int, list[float]]]:
    """Serve *texts* on a free 127.0.0.1 port; yield the port and the list of seconds each answer took."""
    took: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started = time.perf_counter()
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            body = texts.get("/metrics" if url.path == "/metrics" else query.get("shard", ["0"])[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", _CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            took.append(time.perf_counter() - started)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], took
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _first_scrapes(prom: RunningPrometheus, seconds: float) -> list[dict[str, Any]]:
    """Return each target's first scrape of the last *seconds*: job, start (s from the earliest), duration, overlap.

    `overlapping` is the number of other targets' first scrapes that ran during this one.
    """
    answer = prom.query(f'scrape_duration_seconds{{job=~"netmon.*"}}[{int(seconds) + 1}s]', timeout=60)
    result = answer.get("data", {}).get("result", []) if answer.get("status") == "success" else []
    firsts = sorted(
        (float(series["values"][0][0]), float(series["values"][0][1]), str(series["metric"].get("job")))
        for series in result
        if series["values"]
    )
    if not firsts:
        return []
    origin = firsts[0][0]
    return [
        {
            "job": job,
            "start_s": round(start - origin, 3),
            "duration_s": round(took, 4),
            "overlapping": sum(
                1
                for other, other_took, _ in firsts
                if other != start and other < start + took and start < other + other_took
            ),
        }
        for start, took, job in firsts
    ]


def _by_overlap(firsts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum up the interface shards' first scrapes by how many others ran beside them: none, 1, 2, 3 or more."""
    groups: dict[str, list[float]] = {}
    for first in firsts:
        if first["job"].startswith("netmon-interfaces"):
            key = str(first["overlapping"]) if first["overlapping"] < 3 else "3+"
            groups.setdefault(key, []).append(first["duration_s"])
    return {key: percentiles(groups[key]) for key in sorted(groups)}


def _profile(prom: RunningPrometheus, seconds: int, output: Path) -> None:
    """Write Prometheus' CPU profile of the next *seconds* to *output*, and its top functions where `go` is."""
    with urllib.request.urlopen(f"{prom.url}/debug/pprof/profile?seconds={seconds}", timeout=seconds + 60) as answer:  # noqa: S310 (loopback)
        output.write_bytes(answer.read())
    go, binary = shutil.which("go"), shutil.which("prometheus")
    if go is None or binary is None:
        print(f"{output}: `go` is not installed, so no top list (apt-get install golang-go)", file=sys.stderr)  # noqa: T201
        return
    parts = []
    for title, order in (("own time", []), ("cumulative", ["-cum"])):
        top = subprocess.run(
            [go, "tool", "pprof", "-top", *order, "-nodecount=30", binary, str(output)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        parts.append(f"# {title}\n{top.stdout}{top.stderr}")
    output.with_name(output.name + ".top.txt").write_text("\n".join(parts), encoding="utf-8")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Render, serve, let Prometheus scrape; return the measurements."""
    shards = args.shards or max(1, -(-args.devices * 172 // _SERIES_PER_SHARD))
    texts = asyncio.run(_texts(args.devices, shards))
    shard_texts = [texts[str(i)] for i in range(shards)]
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "devices": args.devices,
        "shards": shards,
        "main": {"bytes": len(texts["/metrics"]), "series": series_count(texts["/metrics"])},
        "interfaces": {
            "bytes": sum(map(len, shard_texts)),
            "series": sum(map(series_count, shard_texts)),
            "series_per_shard_max": max(map(series_count, shard_texts)),
        },
    }
    timeout = min(int(str(_INTERFACE_JOB["scrape_timeout"]).rstrip("s")), args.interfaces_interval)
    interfaces_job = {"scrape_interval": f"{args.interfaces_interval}s", "scrape_timeout": f"{timeout}s"}
    jobs: dict[str, dict[str, Any]] = {"netmon-interfaces": {**interfaces_job, "shards": shards}}
    shutil.rmtree(args.workdir / "prom", ignore_errors=True)  # a fresh TSDB: first scrapes create their series
    args.workdir.mkdir(parents=True, exist_ok=True)
    with (
        _serving(texts) as (port, took),
        running_prometheus(
            args.workdir / "prom", targets=[f"127.0.0.1:{port}"], scrape_interval=f"{args.scrape_interval}s", jobs=jobs
        ) as prom,
    ):
        started, cpu = time.monotonic(), cpu_seconds(prom.process.pid)
        profiler = None
        if args.pprof is not None:
            profiler = threading.Thread(target=_profile, args=(prom, args.interfaces_interval, args.pprof), daemon=True)
            profiler.start()
        deadline = started + args.duration
        while time.monotonic() < deadline and prom.process.poll() is None:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        if profiler is not None:
            profiler.join(timeout=180)
        seconds = time.monotonic() - started
        result["prometheus_cpu_cores"] = round((cpu_seconds(prom.process.pid) - cpu) / seconds, 4)
        result["prometheus_scrapes"], _ = _prom_scrapes(prom, seconds)
        firsts = _first_scrapes(prom, seconds)
        result["first_by_overlap"] = _by_overlap(firsts)
        result["first_scrapes"] = firsts
    result["server_answer_ms"] = percentiles([t * 1000 for t in took])
    return result


def parser() -> argparse.ArgumentParser:
    """The command line (see the module doc)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--shards", type=int, default=0, help="interface shard jobs (default: 25k series each)")
    p.add_argument("--duration", type=float, default=150.0, help="seconds of scraping (default 150)")
    p.add_argument("--scrape-interval", type=int, default=15, help="/metrics, seconds (default 15)")
    p.add_argument("--interfaces-interval", type=int, default=60, help="/metrics/interfaces, seconds (default 60)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/netmon-prometheus-ingest"))  # noqa: S108 (a bench's)
    p.add_argument("--pprof", type=Path, default=None, help="write Prometheus' CPU profile of the first interval here")
    p.add_argument("-o", "--output", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run, print and write the results."""
    args = parser().parse_args(argv)
    result = run(args)
    write_results(result, args.output or RESULTS / f"prometheus-ingest-{time.strftime('%Y-%m-%d')}-{args.devices}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
