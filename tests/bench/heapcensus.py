"""What fills the heap of `netmon run`: objects by type, who holds the big dicts, and pymalloc's arenas.

Installed in the daemon's process by `daemon_bench --census` (through `loopwatch_site/`'s
`sitecustomize`), never by netmon itself. On SIGUSR2 the process writes a census to
`<NETMON_HEAPCENSUS>-<N>.txt` (N counts from 1) and then goes on:

- the resident set (from /proc/self/statm) and how long the census held the process;
- GC-tracked objects by type, with the sum of `sys.getsizeof` (an instance's `__dict__` is a
  dict of its own; the heap is unfrozen for the count, `gc.freeze()` hides objects, and frozen
  again after);
- untracked objects that tracked ones refer to (str, bytes, int, float, tuples of atoms);
- the 12 largest dicts and what refers to them (the owner's type, or a dict's first keys);
- `sys._debugmallocstats()`: arenas in use and bytes in allocated blocks. When those are near
  the resident set, the memory is live objects, not fragmentation.

A census of the 10k daemon takes about 5 s and allocates ~60 MB while it runs: take it where the
numbers it disturbs are not measured. `summary()` reads the top of each file back for the results.
This is how issue 12's RSS goal was worked on: the census named the written batch of 172,000
interface transitions, the API's serialised rows, pydantic's per-record field sets and pysnmp.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["install_from_env", "summary"]

_TOP = 40


def _name(kind: type) -> str:
    module = getattr(kind, "__module__", "")
    if not isinstance(module, str) or module == "builtins":
        return kind.__qualname__
    return f"{module}.{kind.__qualname__}"


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return f"dict(len={len(value)}, keys={list(value)[:3]!r:.120})"
    if isinstance(value, list | tuple | set | frozenset):
        return f"{type(value).__name__}(len={len(value)})"
    return _name(type(value))


def census(path: Path) -> None:
    """Write one census of this process to *path* (see the module doc)."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    objects = gc.get_objects()
    try:
        count: Counter[str] = Counter()
        size: Counter[str] = Counter()
        for value in objects:
            name = _name(type(value))
            count[name] += 1
            size[name] += sys.getsizeof(value)
        seen: set[int] = set()
        leaves: Counter[str] = Counter()
        leaf_size: Counter[str] = Counter()
        for at in range(0, len(objects), 10_000):
            for value in gc.get_referents(*objects[at : at + 10_000]):
                if gc.is_tracked(value) or id(value) in seen:
                    continue
                seen.add(id(value))
                leaves[type(value).__qualname__] += 1
                leaf_size[type(value).__qualname__] += sys.getsizeof(value)
        biggest = sorted((value for value in objects if type(value) is dict), key=len, reverse=True)[:12]
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            out.write(f"rss_mb {pages * os.sysconf('SC_PAGE_SIZE') / 1e6:.1f}; tracked objects {len(objects)}\n")
            out.write(f"tracked {sum(size.values()) / 1e6:.1f} MB; untracked {sum(leaf_size.values()) / 1e6:.1f} MB\n")
            out.write("== tracked, by size\n")
            out.writelines(f"{s / 1e6:9.1f} MB {count[n]:10d}  {n}\n" for n, s in size.most_common(_TOP))
            out.write("== untracked, by size\n")
            out.writelines(f"{s / 1e6:9.1f} MB {leaves[n]:10d}  {n}\n" for n, s in leaf_size.most_common(12))
            out.write("== largest dicts, and what refers to them\n")
            for value in biggest:
                holders = [r for r in gc.get_referrers(value) if r is not objects and r is not biggest]
                out.write(f"{_describe(value)} <- {'; '.join(_describe(r) for r in holders[:3])}\n")
            out.write(f"== pymalloc (the census took {time.perf_counter() - started:.1f} s)\n")
            out.flush()
            saved = os.dup(2)
            os.dup2(out.fileno(), 2)  # _debugmallocstats writes to the C stderr
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        partial.replace(path)  # whole or absent: the bench waits for the file
    finally:
        del objects
        gc.collect()
        gc.freeze()


def install_from_env() -> None:
    """Take a census at each SIGUSR2 if `NETMON_HEAPCENSUS` names a path prefix."""
    prefix = os.environ.get("NETMON_HEAPCENSUS")
    if not prefix:
        return
    taken = [0]

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        taken[0] += 1
        with contextlib.suppress(Exception):  # a census must never end the daemon
            census(Path(f"{prefix}-{taken[0]}.txt"))

    signal.signal(signal.SIGUSR2, on_signal)


def summary(path: Path, lines: int = 16) -> dict[str, Any]:
    """Return the head of a census file (its totals and largest types) for the results, or why there is none."""
    if not path.exists():
        return {"missing": str(path)}
    text = path.read_text(encoding="utf-8").splitlines()
    arenas = [line.strip() for line in text if "arenas allocated current" in line or "bytes in allocated" in line]
    return {"file": str(path), "head": text[:lines], "pymalloc": arenas}
