"""Keep CPython's cyclic garbage collector off the event loop's critical path.

At 10,000 devices the daemon holds about 1.1 million GC-tracked objects, most of them as old as
the inventory (object states, specs, interface rows, modules, functions). CPython 3.11 runs a
full (generation 2) collection whenever the objects promoted since the last one exceed a quarter
of those it kept, which with a poll load happens every 2 s; each such collection walks the whole
heap and held the loop for 0.2 to 1.1 s, measured on the 10k whole-daemon benchmark (issue 12).
Every request, scrape and reply waited behind it.

`settle()` returns what was frozen before to the collector, collects once, and moves every
surviving object to the permanent generation (`gc.freeze()`, CPython 3.7+). Frozen objects are
still freed by reference counting as usual, but the collector no longer walks them: a full
collection then walks only what was made since. `Settler` calls it where the long-lived part of
the heap has just been built: at start, before any poll runs; after a reload or a rebuild of the
live state; and after a round that grew the state engine by a quarter (the first SNMP round adds
every interface: 172,000 objects at 10k). A cycle that becomes garbage while frozen (a poll in
flight at the freeze) is freed at the next settle: the cost is bounded by one freeze's in-flight
polls, and it does not add up.

`THRESHOLDS` raises the first generation's threshold from 700 allocations so that the objects a
poll makes and drops within a round (futures, timeouts, decoded varbinds) die before a collection
promotes them; the promotion rate is what makes the full collections frequent.
"""

from __future__ import annotations

import gc
import time

__all__ = ["GROWTH", "THRESHOLDS", "Settler", "settle"]

#: `gc.set_threshold` arguments: (generation 0 allocations, generation 1 runs, generation 2 runs).
THRESHOLDS = (20_000, 10, 10)

#: Settle again when the state engine has this many times the objects it had at the last settle.
GROWTH = 1.25


def settle() -> dict[str, int]:
    """Unfreeze, collect, then freeze the surviving heap; return the log fields `frozen_objects` and `pause_ms`.

    Also applies `THRESHOLDS`. The pause is one full collection: about 0.3 s per million objects
    on this machine kind.
    """
    started = time.perf_counter()
    gc.set_threshold(*THRESHOLDS)
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return {"frozen_objects": gc.get_freeze_count(), "pause_ms": round((time.perf_counter() - started) * 1000)}


class Settler:
    """When to `settle`: on demand (start, reload), and when the state engine has grown by `GROWTH`."""

    def __init__(self) -> None:
        self.objects = 0  # the state engine's objects at the last settle

    def settle(self, objects: int) -> dict[str, int]:
        """`settle` now; *objects* is the state engine's count, the base of the next growth."""
        self.objects = objects
        return settle()

    def grown(self, objects: int) -> dict[str, int] | None:
        """`settle` if the state engine has *objects* > `GROWTH` times the last count; else None."""
        return self.settle(objects) if objects > self.objects * GROWTH else None
