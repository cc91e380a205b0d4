"""The daemon's round handling and periodic loops: samples → live view → transitions; roll-ups; live indicators.

- `on_samples` / `on_round`: the scheduler's callbacks. A finished round is counted, turned into
  transitions (`LiveState.conclude`) and handed to the pipeline. The daemon says `READY=1` as
  `/readyz` turns ready: once every enabled device has its first ping sample, or after the
  first ping round, whichever comes first (issue 12).
- `indicator_loop`: recomputes the live indicator gauges after each ping round, off the loop.
- `rollup_loop`: refreshes today's availability (and finishes yesterday's once the day turns).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta

from netmon.errors import StoreError
from netmon.indicators.compute import LiveRows, live_rows
from netmon.kernel import Sample, finish_thread, utcnow
from netmon.monitor.availability import rollup_day
from netmon.monitor.rounds import RoundResult
from netmon.monitor.scheduler import RoundStats
from netmon.runtime import Runtime, require
from netmon.systemd import notify

__all__ = ["RoundHandler", "indicator_loop", "rollup_loop"]


class RoundHandler:
    """The scheduler's `on_samples` and `on_round` callbacks for one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._notified = False

    def on_samples(self, samples: Sequence[Sample]) -> None:
        """Keep the samples as they arrive (the exporters read them at once); say READY=1 at the last first ping."""
        live = self._runtime.live
        live.record(samples)
        if not self._notified and not live.awaiting_ping:  # a set's emptiness: O(1) per batch
            self._ready("every device has its first ping sample")

    def _ready(self, why: str) -> None:
        self._notified = True
        notify("READY=1")
        self._runtime.log.info("ready", reason=why)

    async def on_round(self, result: RoundResult, stats: RoundStats) -> None:
        """Count the round, publish its transitions, and say READY=1 after the first ping round if not yet said.

        The conclusion gives the event loop back every few milliseconds (`LiveState.conclude_async`),
        under `Runtime.conclude_lock`.
        """
        rt = self._runtime
        live = rt.live
        for status, count in result.by_status().items():
            rt.instruments.samples.labels(result.poll_class, status).inc(count)
        rt.instruments.round_duration.labels(result.poll_class).observe(result.duration)
        first_ready = result.poll_class == "ping" and not live.rounds["ping"]
        if rt.cluster is not None and result.started < rt.cluster.rejoined_at:
            # polled under a lease since lost (a pause): its timeouts say nothing of the objects (issue 19)
            rt.log.info("round from before the poller rejoined: not concluded", poll_class=result.poll_class)
        else:
            async with rt.conclude_lock:
                transitions = await rt.live.conclude_async(result, utcnow())
            require(rt.pipeline).publish(transitions)
            if (settled := rt.heap.after_round()) is not None:  # a freeze, or every RECLAIM s a settle
                rt.log.info("heap settled", poll_class=result.poll_class, **settled)
        if result.poll_class == "ping":
            rt.ping_done.set()
        if first_ready:
            if not self._notified:
                self._ready("the first ping round is done")
            rt.log.info("first round done: ready", duration=round(result.duration, 3))
        rt.wake()


async def indicator_loop(runtime: Runtime) -> None:
    """Recompute the live indicator gauges after each ping round, in a worker thread, when their inputs changed.

    One poller of several (issue 19) computes them over the whole inventory, with the other
    pollers' objects at their last recorded state: every poller serves the same values.

    The rows depend only on the inventory, the definitions, the day (the structure in force)
    and the objects' states (`live_rows`); a round that changed none of them keeps the gauges.
    At 10,000 devices a computation is seconds of Python in a thread, holding the GIL against
    the event loop every 30 s for nothing in a steady state (issue 12).
    """
    last: LiveRows | None = None
    while True:
        await runtime.ping_done.wait()
        runtime.ping_done.clear()
        live = runtime.live
        states = live.indicator_states()
        inventory = live.inventory
        if runtime.cluster is not None:  # one poller of several: the whole province, the others' states from the DB
            try:
                inventory, states = runtime.cluster.inventory, await runtime.cluster.whole_states(states)
            except StoreError as exc:
                runtime.log.warning("live indicators not refreshed: cannot read the others' states", error=str(exc))
                continue
        catalog, today = runtime.catalog, utcnow().date()
        if last is not None and last.holds(inventory, catalog, today, states):
            continue
        rows = await asyncio.to_thread(live_rows, inventory, states, catalog, today=today)
        last = runtime.live_rows = LiveRows(inventory, catalog, today, states, rows)  # the gauges, and the API's
        runtime.wake()


async def rollup_loop(runtime: Runtime) -> None:
    """Refresh today's availability every `availability.rollup_interval` seconds; a failure is retried next time."""
    engine = require(runtime.engine)
    last_day = None
    while True:
        now = utcnow()
        today = now.astimezone(runtime.zone).date()
        days = [today] if last_day in (None, today) else [today - timedelta(days=1), today]
        started = time.perf_counter()
        try:
            for day in days:
                await finish_thread(rollup_day, engine, runtime.live.inventory, day, runtime.zone, now)
            runtime.instruments.db_write.labels("availability").observe(time.perf_counter() - started)
            last_day = today
        except StoreError as exc:
            runtime.log.warning("availability roll-up failed; will retry", error=str(exc))
        await asyncio.sleep(runtime.config.availability.rollup_interval)  # a period
