"""netmon.heap: the long-lived heap leaves the cyclic GC's walks, and what was frozen is freed at the next settle."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from netmon import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    thresholds, switch = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(switch)


def test_a_settled_cycle_is_not_collected_until_the_next_settle() -> None:
    node = _Node()
    ref = weakref.ref(node)
    fields = heap.settle()
    assert fields["frozen_objects"] == gc.get_freeze_count() > 0
    assert gc.get_threshold() == heap.THRESHOLDS
    assert sys.getswitchinterval() == pytest.approx(heap.SWITCH_INTERVAL)  # workers yield the GIL to the loop sooner
    del node
    gc.collect()
    assert ref() is not None  # frozen: a full collection does not walk it
    heap.settle()
    assert ref() is None  # the next settle gave it back to the collector first


def test_the_settler_freezes_after_a_round_and_settles_every_reclaim_seconds() -> None:
    settler = heap.Settler(reclaim=3600)
    assert settler.after_round() is not None  # never settled: settles
    node = _Node()
    ref = weakref.ref(node)
    assert settler.after_round() is None  # only froze what the round made
    del node
    gc.collect()
    assert ref() is not None  # frozen by the round
    settler.settled_at -= 3600  # an hour later
    assert settler.after_round() is not None
    assert ref() is None  # the settle gave back what the freezes kept


def test_only_the_settles_collect_fully_and_the_young_generations_often() -> None:
    heap.settle()

    def collections() -> tuple[int, int]:  # (full, young: of generation 0 or 1)
        stats = gc.get_stats()
        return stats[2]["collections"], stats[0]["collections"] + stats[1]["collections"]

    full, young = collections()
    kept = [[index] for index in range(300_000)]  # a round's survivors: promoted, never collected fully
    assert collections()[0] == full
    assert collections()[1] - young >= 300_000 // heap.THRESHOLDS[0] - 1
    del kept
