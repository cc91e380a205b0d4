"""What the whole-daemon benchmark measures from outside: /proc of a process, HTTP latencies, a py-spy profile.

Every thread here is bounded by a stop event and joined; every HTTP call has a timeout. CPU
comes from /proc/PID/stat (utime + stime of all threads, in clock ticks), memory from
/proc/PID/status (VmRSS, VmHWM).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HealthProber",
    "ProcSampler",
    "cpu_seconds",
    "http_get",
    "percentiles",
    "profile_top",
    "rss_mb",
    "series_count",
    "summarize_profile",
    "write_results",
]

_TICK = os.sysconf("SC_CLK_TCK")
#: Frames on every stack of the daemon (the entry point and the event loop's own machinery): left
#: out of the "total" ranking, where they would fill the top rows and say nothing.
_ENTRY = re.compile(
    r"\((<frozen runpy>|typer/\S+|_?click/\S+|asyncio/(runners|base_events|events)\.py|netmon/(cli|__main__)\.py)\)$"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of *pid* (all threads) from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mb(pid: int) -> tuple[float, float]:
    """Return (VmRSS, VmHWM) of *pid* in MiB; (0, 0) once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0, 0.0
    values = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("Vm")}
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def http_get(port: int, path: str, timeout: float) -> tuple[int, bytes, float]:
    """GET http://127.0.0.1:PORT/PATH; return status, body and wall seconds (OSError on failure)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def series_count(exposition: bytes) -> int:
    """Count the sample lines of a Prometheus text exposition (comments and blanks left out)."""
    return sum(1 for line in exposition.split(b"\n") if line and not line.startswith(b"#"))


def percentiles(values: list[float], points: tuple[int, ...] = (50, 90, 99)) -> dict[str, float | None]:
    """Return p50/p90/p99 (and max, count) of *values* in milliseconds-ready units as given."""
    if not values:
        return {**{f"p{p}": None for p in points}, "max": None, "count": 0}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {**{f"p{p}": round(cuts[p - 1], 4) for p in points}, "max": round(max(values), 4), "count": len(values)}


@dataclass
class ProcSampler:
    """Samples CPU and RSS of a process every *period* seconds in a thread, until stopped."""

    pid: int
    period: float = 1.0
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (monotonic, cpu s, rss MiB)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __enter__(self) -> ProcSampler:
        self._thread = threading.Thread(target=self._run, name=f"sampler-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), cpu_seconds(self.pid), rss_mb(self.pid)[0]))
            except (OSError, ValueError, IndexError):
                return  # the process is gone
            self._stop.wait(self.period)

    def between(self, start: float, end: float) -> dict[str, float | None]:
        """Cores used and RSS (median, max) between two monotonic instants, from the samples."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {"cores": None, "rss_median_mb": None, "rss_max_mb": None, "seconds": 0.0}
        seconds = inside[-1][0] - inside[0][0]
        return {
            "cores": round((inside[-1][1] - inside[0][1]) / seconds, 4) if seconds else None,
            "rss_median_mb": round(statistics.median(s[2] for s in inside), 1),
            "rss_max_mb": round(max(s[2] for s in inside), 1),
            "seconds": round(seconds, 1),
        }


@dataclass
class HealthProber:
    """GETs /healthz every *period* seconds in a thread; records (wall start, latency s, ok)."""

    port: int
    period: float = 0.25
    timeout: float = 30.0
    probes: list[tuple[float, float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __enter__(self) -> HealthProber:
        self._thread = threading.Thread(target=self._run, name="healthz-prober", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            wall = time.time()
            try:
                status, _, seconds = http_get(self.port, "/healthz", self.timeout)
                self.probes.append((wall, seconds, status == 200))
            except (OSError, http.client.HTTPException):
                self.probes.append((wall, time.time() - wall, False))
            self._stop.wait(self.period)

    def split(self, windows: list[tuple[float, float]]) -> dict[str, Any]:
        """Latency percentiles (ms) of probes that overlapped a scrape window (wall start, end) and of the rest."""

        def overlaps(start: float, seconds: float) -> bool:
            return any(start < end and start + seconds > begin for begin, end in windows)

        during = [s * 1000 for w, s, _ in self.probes if overlaps(w, s)]
        outside = [s * 1000 for w, s, _ in self.probes if not overlaps(w, s)]
        return {
            "during_scrapes_ms": percentiles(during),
            "outside_scrapes_ms": percentiles(outside),
            "failed": sum(1 for *_, ok in self.probes if not ok),
        }


def profile_top(pid: int, seconds: int, out: Path, *, top: int = 10) -> dict[str, Any]:
    """Record *pid* with py-spy for *seconds* (raw collapsed stacks, non-blocking); return the top entries.

    "self" counts the samples whose innermost frame is the function (where the CPU goes), "total"
    those where it appears anywhere in the stack (what it costs with its callees; the entry point
    and the event loop's own frames left out). Idle threads are left out (py-spy's default).
    Raises RuntimeError when py-spy is missing or fails.
    """
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        raise RuntimeError("py-spy is not installed (scripts/bootstrap.sh dev)")
    command = [binary, "record", "--pid", str(pid), "--duration", str(seconds), "--format", "raw"]
    command += ["--output", str(out), "--nonblocking", "--rate", "100"]
    done = subprocess.run(command, capture_output=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return {"seconds": seconds, **summarize_profile(out, top=top)}


def summarize_profile(out: Path, *, top: int = 10) -> dict[str, Any]:
    """Rank the functions of a py-spy raw (collapsed stacks) file: see profile_top."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not _ENTRY.search(frame):
                total[frame] += count

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "samples": n, "share": round(n / samples, 4) if samples else 0.0}
            for frame, n in counter.most_common(top)
        ]

    return {"samples": samples, "self": rows(own), "total": rows(total), "raw": str(out)}


def _frame(text: str) -> str:
    """`func (path/to/module.py:123)` -> `func (module.py)`: one row per function, not per line."""
    name, _, where = text.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(where).parts
    short = "/".join(parts[-2:]) if parts else where
    return f"{name} ({short})"


def write_results(results: dict[str, Any], output: Path) -> None:
    """Print a benchmark's *results* as JSON on stdout and write them to *output* (its folder made)."""
    text = json.dumps(results, indent=2, ensure_ascii=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    print(text)  # noqa: T201 (a benchmark reports on stdout)
    print(f"written: {output}")  # noqa: T201
