"""Where `netmon run` spends its CPU: a yappi profile on the CPU clock, between two SIGUSR1s.

Installed in the daemon's process by `daemon_bench --cpu-profile` (through `loopwatch_site/`'s
`sitecustomize`), never by netmon itself. py-spy samples wall time: on one 2-core machine shared
with the lab's agents and Prometheus, a thread that waits for a core counts where it stands
(17 % of the loop's samples were in gufo's send, which takes 7 to 20 us of CPU; issue 12). yappi's
CPU clock counts only the time a thread ran. It slows pure-Python code about threefold, so read the
shares, not the times, and expect the daemon to fall behind while it runs.

The first SIGUSR1 starts it (every thread, builtins included); the second stops it and writes
`<prefix>.txt` (every function by own CPU time), `<prefix>.pstat` (for `pstats`) and
`<prefix>.json` (the top `TOP` by own time and by total time, with their shares of the main
thread's CPU), the last one whole or not at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["TOP", "install_from_env", "summary"]

TOP = 15


def _frame(stat: Any) -> str:
    """Name a function as py-spy does: `name (path:line)`, the path from the package (or the stdlib) on."""
    module = str(stat.module)
    if "/site-packages/" in module:
        module = module.split("/site-packages/", 1)[1]
    elif "/netmon/" in module:
        module = "netmon/" + module.rsplit("/netmon/", 1)[1]
    elif "/lib/python3" in module:
        module = module.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{stat.name} ({module}:{stat.lineno})"


def _write(prefix: str) -> None:
    import yappi  # noqa: PLC0415 (a bench-only dependency, imported in the profiled process only)

    yappi.stop()
    stats = yappi.get_func_stats()
    stats.save(f"{prefix}.pstat", type="pstat")
    with Path(f"{prefix}.txt").open("w", encoding="utf-8") as out:
        columns = {0: ("name", 100), 1: ("ncall", 12), 2: ("tsub", 9), 3: ("ttot", 9)}
        stats.sort("tsub").print_all(out=out, columns=columns)
    main = max((t.ttot for t in yappi.get_thread_stats()), default=0.0)
    rows = list(stats)

    def top(key: str) -> list[dict[str, Any]]:
        ranked = sorted(rows, key=lambda s: getattr(s, key), reverse=True)[:TOP]
        return [
            {
                "frame": _frame(s),
                "calls": s.ncall,
                "cpu_s": round(getattr(s, key), 3),
                "share": round(getattr(s, key) / main, 4) if main else None,
            }
            for s in ranked
        ]

    partial = Path(f"{prefix}.json.partial")
    partial.write_text(
        json.dumps({"main_thread_cpu_s": round(main, 3), "self": top("tsub"), "total": top("ttot")}, indent=1),
        encoding="utf-8",
    )
    partial.replace(f"{prefix}.json")


def install_from_env() -> None:
    """Profile between two SIGUSR1s if `NETMON_CPUPROFILE` names a path prefix."""
    prefix = os.environ.get("NETMON_CPUPROFILE")
    if not prefix:
        return
    signals = [0]

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        import yappi  # noqa: PLC0415

        signals[0] += 1
        with contextlib.suppress(Exception):  # a profile must never end the daemon
            if signals[0] == 1:
                yappi.set_clock_type("cpu")
                yappi.start(builtins=True, profile_threads=True)
            elif signals[0] == 2:
                _write(prefix)

    signal.signal(signal.SIGUSR1, on_signal)


def summary(prefix: Path) -> dict[str, Any]:
    """Return the profile's JSON for the results, or why there is none."""
    path = Path(f"{prefix}.json")
    if not path.exists():
        return {"error": f"no profile written at {path}"}
    return dict(json.loads(path.read_text(encoding="utf-8")))
