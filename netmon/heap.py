"""Keep CPython's cyclic garbage collector off the event loop's critical path.

At 10,000 devices the daemon holds about 1.1 million GC-tracked objects, most of them as old as
the inventory (object states, specs, interface rows, modules, functions). CPython 3.11 runs a
full (generation 2) collection whenever the objects promoted since the last one exceed a quarter
of those it kept, which with a poll load happens every 2 s; each such collection walks the whole
heap and held the loop for 0.2 to 1.1 s, measured on the 10k whole-daemon benchmark (issue 12).
Every request, scrape and reply waited behind it.

`settle()` returns what was frozen before to the collector, collects once, and moves every
surviving object to the permanent generation (`gc.freeze()`, CPython 3.7+). Frozen objects are
still freed by reference counting as usual, but the collector no longer walks them. `Settler`
settles at start, before any poll runs, and after a reload or a rebuild of the live state.
After each round it only freezes (`gc.freeze()` splices lists: O(1)), so that a collection
walks at most one round's new objects (the samples of 10,000 devices, 172,000 interface rows);
every `RECLAIM` seconds it settles instead. A cycle that became garbage while frozen (a poll in
flight at a freeze) is freed then: what the freezes keep is bounded by `RECLAIM`, and the full
collection's pause (about 0.4 s at 10k) comes once per `RECLAIM`, not every 2 s.

`THRESHOLDS` leaves full collections to the settles alone: between freezes the second
generation holds a round's survivors (hundreds of thousands of objects at 10k), and CPython's own
rule collected it several times a round, 80 to 230 ms each (6 in 5 minutes on the 10k benchmark
after the freezes). The young generations are collected often and small instead: 2,000
allocations, under 1 ms a collection (in-process, the 10k exposition world). The middle
generation is collected every second young collection, not every tenth: in the daemon at 10k
its collections took 20 to 73 ms each at CPython's 10 (77 over 20 ms in a 5-minute run of the
loop watch, during SNMP rounds and scrapes), as each walks the survivors of all the young
collections since the last. An object is walked there once either way, so the total is the
same; only the pauses are shorter. At 2, four runs had 1, 10, 10 and 94 such collections over 20 ms:
how long a collection takes swings with how busy the 2-core machine is, more than with this.
Cycles that die after their promotion wait for the next settle, as the frozen ones do: at most
`RECLAIM` seconds.

`SWITCH_INTERVAL` is the other half of keeping the loop's thread on its critical path: how long a
worker thread (an API page, the live indicators, a rollup, a database write) runs on with the
GIL once the loop's thread asks for it. The loop's thread gives the GIL up at each blocking call (the
selector's wait, socket calls that release it); with CPython's default of 5 ms a busy worker
then kept it up to 5 ms each time (the convoy effect). On the 10k benchmark (`loopwatch`), one
iteration of an SNMP burst ran 117 poll steps in 426 ms of wall time, in which the loop's thread
had 24 ms of CPU and the whole process 435 ms: the rest was a worker's (the live indicators of
an API request, by py-spy).
"""

from __future__ import annotations

import gc
import math
import sys
import time

__all__ = ["RECLAIM", "SWITCH_INTERVAL", "THRESHOLDS", "Settler", "settle"]

#: `gc.set_threshold` arguments: (generation 0 allocations, generation 1 runs, generation 2 runs).
#: The last is out of reach on purpose: the full collections are the settles'.
THRESHOLDS = (2_000, 2, 1_000_000)

#: `sys.setswitchinterval` (seconds): after how long CPython asks the thread holding the GIL to let a
#: waiting one have it (CPython's default: 0.005). Not a bound: C code that keeps the GIL ignores it.
SWITCH_INTERVAL = 0.0005

#: Seconds between two full settles while rounds only freeze (`Settler.after_round`).
RECLAIM = 600.0


def settle() -> dict[str, int]:
    """Unfreeze, collect, then freeze the surviving heap; return the log fields `frozen_objects` and `pause_ms`.

    Also applies `THRESHOLDS` and `SWITCH_INTERVAL`. The pause is one full collection: about 0.3 s per million objects
    on this machine kind.
    """
    started = time.perf_counter()
    gc.set_threshold(*THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return {"frozen_objects": gc.get_freeze_count(), "pause_ms": round((time.perf_counter() - started) * 1000)}


class Settler:
    """When to `settle` and when only to freeze (see the module doc)."""

    def __init__(self, reclaim: float = RECLAIM) -> None:
        self.reclaim = reclaim
        self.settled_at = -math.inf  # time.monotonic() of the last settle

    def settle(self) -> dict[str, int]:
        """`settle` now (at start, after a reload); return its log fields."""
        fields = settle()
        self.settled_at = time.monotonic()
        return fields

    def after_round(self) -> dict[str, int] | None:
        """Freeze what the round made; `settle` instead (and return its log fields) every `reclaim` seconds."""
        if time.monotonic() - self.settled_at >= self.reclaim:
            return self.settle()
        gc.freeze()
        return None
