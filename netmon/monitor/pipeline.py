"""The transition pipeline: transitions → outage ledger + MQTT outbox in one transaction → sinks.

The state engine hands each batch of transitions to `publish()`: it is logged, given to the
listeners and queued. `run()` (the `recorder` task) writes the batches in order: the ledger
records them and, in the same transaction, the outbox gets the MQTT messages built from what
the ledger wrote (`netmon.sinks.events`), so the events and the outage rows cannot disagree.

Failures (STYLE.md 7, issue 11):
- a temporary error (connection lost, lock or statement timeout: `StoreError`) keeps the batch
  and retries it with jittered, capped exponential backoff (`RETRY_FIRST` .. `RETRY_CAP` s);
- a permanent data error (`StoreDataError`: a value too long, a NUL byte, a constraint) splits
  the batch and writes its items one by one; an item that fails alone is *poison*: it is
  logged with its object, counted (`netmon_pipeline_poison_items_total`) and kept in the
  `poison` table for inspection, and every other item and every later batch still lands.

Several pollers (issue 19): with a *guard* (`netmon.cluster.node.ClusterNode`), a batch is cut
to the objects this poller owns, and the ledger's transaction first runs the guard's fence. A
refused write (`FencedError`) makes the guard recover: when the lease was lost, the batch and
every batch queued under the old epoch are dropped (they were observed by a poller that may have
been paused past its lease: nothing stale is written); when only the live pollers changed, the
ownership is recomputed and what is still owned is written.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.errors import FencedError, StoreDataError, StoreError
from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.kernel import storable, utcnow
from netmon.monitor.outages import OutageLedger, Written
from netmon.monitor.state import State, Transition
from netmon.sinks.events import messages_for
from netmon.sinks.outbox import Outbox
from netmon.sinks.prometheus import Instruments

__all__ = ["RETRY_CAP", "RETRY_FIRST", "TransitionPipeline", "WriteGuard"]

#: First and longest wait before a batch is retried after a temporary database error (seconds).
RETRY_FIRST, RETRY_CAP = 0.5, 30.0

_POISON = metadata.tables["poison"]
#: Refused writes in a row after which a batch is given up (each is followed by a recovery).
_FENCE_TRIES = 5


class WriteGuard(Protocol):
    """Who may write: one poller among several (`netmon.cluster.node.ClusterNode`)."""

    epoch: int
    view: Any

    def keep(self, batch: Sequence[Transition]) -> list[Transition]:
        """Return the transitions whose objects this poller owns."""

    def check(self, conn: Connection, epoch: int, view: Any) -> None:
        """Raise FencedError in transaction *conn* unless *epoch* and *view* are still current."""

    async def recover(self, *, lease_lost: bool) -> None:
        """Join again or recompute ownership after a refused write."""


#: Transitions written per transaction: the first SNMP round at 10,000 devices judges ~180,000
#: interfaces at once, and one transaction of them built ~200 MB of rows that the process kept.
WRITE_CHUNK = 5000


class TransitionPipeline:
    """Queues transition batches and writes them in order; `run()` is the recorder task's body.

    *prefix* is the MQTT topic prefix, or None when MQTT is off (no outbox rows are written).
    *on_written* is called on the event loop after each batch is stored (wake the publisher).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        prefix: str | None,
        instruments: Instruments,
        log: Any,
        on_written: Callable[[], None] | None = None,
        guard: WriteGuard | None = None,
    ) -> None:
        self.ledger = OutageLedger(engine)
        self.guard = guard
        self.fenced = 0  # transitions dropped by the fence (lease lost) or handed over before written
        self._outbox = Outbox(engine) if prefix is not None else None
        self._prefix = prefix or ""
        self._instruments = instruments
        self._log = log
        self._on_written = on_written
        self._queue: asyncio.Queue[tuple[int, list[Transition]] | None] = asyncio.Queue()
        self._listeners: list[Callable[[Sequence[Transition]], None]] = []
        self.queued = 0  # batches published
        self.recorded = 0  # batches written (poison items set aside count as written)
        self.poisoned = 0  # items set aside

    @property
    def flushed(self) -> bool:
        """Tell whether every batch published so far is written."""
        return self.recorded == self.queued

    def on_transitions(self, listener: Callable[[Sequence[Transition]], None]) -> None:
        """Call *listener* with every batch of transitions, as it is published."""
        self._listeners.append(listener)

    def publish(self, transitions: list[Transition]) -> None:
        """Log *transitions* (not interfaces'), tell the listeners, and queue them for the database.

        First judgements that find an object up are counted in one line, not logged one by one
        (10,000 lines at each start otherwise); a first judgement that finds it failing is logged.
        """
        first_up = 0
        for t in transitions:
            if t.first and t.new is State.UP:
                first_up += 1
            elif t.kind != "interface":
                self._log.info(
                    "state changed",
                    kind=t.kind,
                    name=t.name,
                    old=t.old.value,
                    new=t.new.value,
                    root_cause=t.root_cause,
                    flapping=t.flapping,
                )
        if first_up:
            self._log.info("first states judged", up=first_up)
        if transitions:
            self.queued += 1
            self._queue.put_nowait((self.guard.epoch if self.guard is not None else 0, transitions))
            for listener in self._listeners:
                listener(transitions)

    async def run(self) -> None:
        """Write batches in order until `stop()`; never ends on a database error."""
        while (item := await self._queue.get()) is not None:
            await self._record(*item)
            # let go of the batch now, not when the next one comes: the first judgement of every
            # interface (172,000 transitions, ~33 MB at 10k) stayed held here in a steady state (issue 12)
            del item
            self.recorded += 1
            if self._on_written is not None:
                self._on_written()

    async def _record(self, epoch: int, batch: list[Transition]) -> None:
        for start in range(0, len(batch), WRITE_CHUNK):  # in order; one transaction per chunk
            chunk = batch[start : start + WRITE_CHUNK]
            if self.guard is None:
                await self._write(chunk)
            else:
                await self._guarded(epoch, chunk)

    async def stop(self, task: asyncio.Task[None], within: float) -> None:
        """Write what is queued, then end *task* (running `run()`); cancel it after *within* seconds."""
        self._queue.put_nowait(None)
        try:
            async with asyncio.timeout(within):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
        if task.cancelled():
            self._log.error("shutdown timed out; transitions still queued are lost", queued=self._queue.qsize())

    async def _guarded(self, epoch: int, batch: list[Transition]) -> None:
        """Write what this poller still owns of *batch*, fenced; drop it if observed under a lost lease."""
        guard = self.guard
        assert guard is not None  # noqa: S101 (only called with a guard)
        for _ in range(_FENCE_TRIES):
            kept = guard.keep(batch) if epoch == guard.epoch else []
            self.fenced += len(batch) - len(kept)
            if not kept:
                return
            batch, view = kept, guard.view
            try:
                await self._write(batch, (epoch, view))
            except FencedError as exc:
                self._log.warning("write refused by the poller lease", error=str(exc), lease_lost=exc.lease_lost)
                await self._retrying_recover(guard, lease_lost=exc.lease_lost)
            else:
                return
        self.fenced += len(batch)
        self._log.error("transitions dropped: the poller view kept changing", count=len(batch))

    async def _retrying_recover(self, guard: WriteGuard, *, lease_lost: bool) -> None:
        await self._backoff(lambda: guard.recover(lease_lost=lease_lost), "cannot rejoin the pollers; retrying")

    async def _write(self, batch: list[Transition], fence: tuple[int, Any] | None = None) -> None:
        """Store *batch*, retrying temporary errors; on a data error, store its items one by one."""
        try:
            await self._retrying(self._apply, batch, fence)
        except StoreDataError as exc:
            if len(batch) == 1:
                await self._retrying(self._set_aside, batch[0], exc)
                return
            for item in batch:
                await self._write([item], fence)

    async def _retrying(self, call: Callable[..., None], *args: Any) -> None:
        """Run *call* in a worker thread until it succeeds or raises StoreDataError; back off between tries."""
        await self._backoff(
            lambda: asyncio.to_thread(call, *args), "cannot record transitions; retrying", passes=(StoreDataError,)
        )

    async def _backoff(
        self,
        attempt: Callable[[], Awaitable[None]],
        message: str,
        *,
        passes: tuple[type[StoreError], ...] = (),
    ) -> None:
        """Await *attempt* until it succeeds; after a StoreError not in *passes*, wait a jittered, doubling delay."""
        delay = RETRY_FIRST
        while True:
            try:
                await attempt()
            except passes:
                raise
            except StoreError as exc:
                wait = random.uniform(delay / 2, delay)  # noqa: S311 (jitter, not cryptography)
                self._log.warning(message, error=str(exc), retry_in=round(wait, 2))
                await asyncio.sleep(wait)  # backoff, not synchronisation
                delay = min(delay * 2, RETRY_CAP)
            else:
                return

    def _apply(self, batch: list[Transition], fence: tuple[int, Any] | None = None) -> None:
        """Write *batch* to the ledger and its messages to the outbox, in one transaction (worker thread).

        *fence* (epoch, view) is checked by the guard first in that transaction (FencedError).
        """
        started = time.perf_counter()

        def events(conn: Connection, written: list[Written]) -> None:
            if self._outbox is not None:
                self._outbox.add(conn, messages_for(written, self._prefix))

        guard = self.guard
        check = None
        if guard is not None and fence is not None:
            check = lambda conn: guard.check(conn, *fence)  # noqa: E731
        self.ledger.apply(batch, also=events, fence=check)
        self._instruments.db_write.labels("transitions").observe(time.perf_counter() - started)

    def _set_aside(self, item: Transition, error: StoreDataError) -> None:
        """Keep *item* in the poison table, count it and log it with its object (worker thread)."""
        payload = json.dumps(item.to_dict(), ensure_ascii=True)  # NUL becomes \\u0000: storable everywhere
        row = {
            "ts": utcnow(),
            "what": "transition",
            "object_kind": storable(item.kind, 16),
            "object_name": storable(item.name, 255),
            "error": storable(str(error), 1024),
            "payload": payload,
        }
        try:
            with transaction(self.ledger.engine, "poison items") as conn:
                conn.execute(sa.insert(_POISON).values(**row))
        except StoreDataError as exc:  # cannot even keep it: say so, and go on
            self._log.error("poison item not kept", kind=row["object_kind"], name=row["object_name"], error=str(exc))
        self.poisoned += 1
        self._instruments.poison.labels("transition").inc()
        self._log.error(
            "transition cannot be stored; set aside in the poison table",
            kind=row["object_kind"],
            name=row["object_name"],
            error=str(error),
        )
