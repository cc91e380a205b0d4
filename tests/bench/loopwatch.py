"""What holds the event loop of `netmon run`: long iterations, what ran in them, and full GC pauses.

Installed in the daemon's process by `daemon_bench --loopwatch` (through `loopwatch_site/`'s
`sitecustomize`), never by netmon itself. It wraps `asyncio.Handle._run` and
`BaseEventLoop._run_once` and registers a `gc.callbacks` hook, and writes one line per event
to the file named by `NETMON_LOOPWATCH`:

- `ITER <unix time> <busy ms> <handles> cpu=<ms> pcpu=<ms> <label>=<count>/<ms> ...`: an iteration
  whose callbacks ran longer than `NETMON_LOOPWATCH_MS` (default 50), the CPU time the loop's
  thread had in it (much less than the busy time: the process waited for a core, or for the GIL),
  the CPU time of the whole process in it (above the loop thread's: worker threads ran), and
  the six labels that took longest (a task's name up to ':' and its coroutine, or a callback's
  qualified name);
- `GC <unix time> <generation> <ms>`: a collection of generation 2, or of any generation over 20 ms.

`summary()` reads such a file back for the benchmark's results. The wrapping costs about 2 us a
callback: measure timings without it, and use it to find what to fix.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import asyncio.events
import gc
import os
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

__all__ = ["install_from_env", "summary"]


def _label(callback: Any) -> str:
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"{owner.get_name().split(':')[0]}/{getattr(coro, '__qualname__', '?')}"
    return str(getattr(callback, "__qualname__", type(callback).__name__))


def install_from_env() -> None:
    """Install the watch if `NETMON_LOOPWATCH` names a file (appended to, line-buffered)."""
    target = os.environ.get("NETMON_LOOPWATCH")
    if not target:
        return
    threshold = float(os.environ.get("NETMON_LOOPWATCH_MS", "50")) / 1000
    out = Path(target).open("a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the process's life)
    busy: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    run = asyncio.events.Handle._run
    run_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]

    def timed_run(handle: asyncio.Handle) -> None:
        started = time.perf_counter()
        try:
            run(handle)
        finally:
            entry = busy[_label(handle._callback)]  # type: ignore[attr-defined]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    def timed_once(loop: asyncio.AbstractEventLoop) -> None:
        busy.clear()
        cpu, process = time.thread_time(), time.process_time()
        run_once(loop)
        cpu, process = time.thread_time() - cpu, time.process_time() - process
        total = sum(entry[1] for entry in busy.values())
        if total > threshold:
            top = sorted(busy.items(), key=lambda item: -item[1][1])[:6]
            labels = " ".join(f"{name}={int(n)}/{seconds * 1000:.0f}" for name, (n, seconds) in top)
            handles = int(sum(entry[0] for entry in busy.values()))
            out.write(
                f"ITER {time.time():.3f} {total * 1000:.0f} {handles} cpu={cpu * 1000:.0f}"
                f" pcpu={process * 1000:.0f} {labels}\n"
            )

    collecting: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting["at"] = time.perf_counter()
            return
        took = time.perf_counter() - collecting.get("at", time.perf_counter())
        if info["generation"] == 2 or took > 0.02:
            out.write(f"GC {time.time():.3f} {info['generation']} {took * 1000:.0f}\n")

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]
    asyncio.base_events.BaseEventLoop._run_once = timed_once  # type: ignore[attr-defined]
    gc.callbacks.append(on_gc)


def summary(path: Path) -> dict[str, Any]:
    """Summarise a watch file: long iterations (count, p50/max ms, CPU share, top labels by time) and full GCs."""
    iterations: list[float] = []
    cpu: list[float] = []
    process_cpu: list[float] = []
    by_label: Counter[str] = Counter()
    full_gc: list[float] = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else ():
        kind, _, rest = line.partition(" ")
        fields = rest.split()
        if kind == "ITER":
            iterations.append(float(fields[1]))
            for item in fields[3:]:
                if item.startswith("cpu="):
                    cpu.append(float(item[4:]))
                    continue
                if item.startswith("pcpu="):
                    process_cpu.append(float(item[5:]))
                    continue
                name, _, cost = item.rpartition("=")
                by_label[name] += int(cost.split("/")[1])
        elif kind == "GC" and fields[1] == "2":
            full_gc.append(float(fields[2]))

    def spread(values: list[float]) -> dict[str, float]:
        return {"count": len(values), "p50_ms": statistics.median(values), "max_ms": max(values)} if values else {}

    return {
        "long_iterations": spread(iterations),
        # the loop thread's CPU time over the long iterations' wall time: well under 1 when it waited for a core
        "long_iterations_cpu_share": round(sum(cpu) / sum(iterations), 3) if cpu and sum(iterations) else None,
        # the whole process's (every thread's): near the loop thread's share when the process waited for a core,
        # well above it when its worker threads ran (and held the GIL) while the loop waited
        "long_iterations_process_cpu_share": (
            round(sum(process_cpu) / sum(iterations), 3) if process_cpu and sum(iterations) else None
        ),
        "long_iterations_ms_by_label": dict(by_label.most_common(10)),
        "full_gc": spread(full_gc),
    }
