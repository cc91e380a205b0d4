"""The running poller's side of a cluster: heartbeat, ownership, hand-over, fencing and metrics.

`ClusterNode` joins the membership table when `netmon run` opens (`Runtime.open`), then its
`run()` task heartbeats every `poller.heartbeat` seconds and re-reads the live members (at once
on a `NOTIFY` of a join or leave). When the live members change, ownership is recomputed
(`groups.owned_inventory`) and the live view rebuilt the way a reload does: objects still owned
keep their memory, newly owned ones start from their last recorded state (the state history and
the open outage, as a restart does: `LiveState.restore`), and objects handed to another poller
are dropped without a transition. Objects taken from a poller whose lease lapsed are a takeover:
one event on `<prefix>/events/poller` through the outbox, and `netmon_poller_takeovers_total`.

Every batch the pipeline writes is first cut to the objects this poller owns (`keep`) and then
checked in its own transaction (`check` → `membership.fence`). A lapsed lease (the process was
paused, or the database unreachable, for longer than `failover_delay`) drops every object and
every transition queued so far, and joins again with a new epoch: nothing stale is written.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection, Engine

from netmon.cluster import membership
from netmon.cluster.groups import Member, owned_inventory, owner, shards
from netmon.cluster.settings import PollerConfig
from netmon.errors import StoreError
from netmon.inventory.schema import transaction
from netmon.inventory.spec import Inventory
from netmon.kernel import finish_thread, utcnow
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import ObjectKey, State, Transition
from netmon.sinks.events import SCHEMA, OutboxMessage, event_topic
from netmon.sinks.outbox import Outbox

if TYPE_CHECKING:
    from netmon.monitor.live import LiveState

__all__ = ["ClusterNode", "PollerCollector"]

_OWN_KINDS = frozenset({"device", "link", "service"})


class ClusterNode:
    """One poller among several: its epoch, its view of the live members, and what it owns.

    *engine* must be PostgreSQL (the config refuses a cluster on SQLite). Reads and writes of the
    membership table run in worker threads; everything else runs on the event loop.
    """

    def __init__(self, engine: Engine, config: PollerConfig, *, log: Any) -> None:
        if config.name is None:
            raise ValueError("a cluster node needs poller.name")
        self.engine = engine
        self.config = config
        self.name: str = config.name
        self.log = log
        self.epoch = 0
        self.view: frozenset[Member] = frozenset()
        self.inventory = Inventory(units={}, devices={}, links={})  # the whole inventory (every poller's)
        self.owned: frozenset[ObjectKey] = frozenset()
        self._present: frozenset[ObjectKey] = frozenset()
        self.takeovers = 0
        self.prefix: str | None = None  # the MQTT topic prefix, once the daemon knows it (None: MQTT off)
        self.runtime: Any = None  # the Runtime whose live view this node rebuilds (set by Runtime.open)
        self.rejoined_at: datetime = utcnow()  # rounds started before are not concluded (a pause)
        self._beat_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._notified = asyncio.Event()

    # ---- joining and scope ------------------------------------------------------------------

    async def join(self) -> None:
        """Join with a new epoch and read the live members. Raises StoreError."""
        self.epoch = await asyncio.to_thread(
            membership.join, self.engine, self.name, self.config.groups, self.config.failover_delay
        )
        self._beat_at = time.monotonic()
        self.rejoined_at = utcnow()
        self.view = await asyncio.to_thread(membership.live_members, self.engine)
        self.log.info("poller joined", poller=self.name, epoch=self.epoch, groups=self.config.groups,
                      members=sorted(m.name for m in self.view))  # fmt: skip

    def scope(self, inventory: Inventory) -> Inventory:
        """Keep *inventory* as the whole one and return the part this poller owns under the current view."""
        self.inventory = inventory
        self._present = frozenset(shards(inventory))
        scoped = owned_inventory(inventory, self.name, self.view)
        self.owned = frozenset(
            [("device", n) for n in scoped.devices]
            + [("link", n) for n in scoped.links]
            + [("service", n) for n in scoped.services]
        )
        return scoped

    def present(self) -> frozenset[ObjectKey]:
        """Return every device, link and service of the whole inventory (not only this poller's)."""
        return self._present

    def owns(self, kind: str, name: str) -> bool:
        """Tell whether this poller owns the object (an interface or check: its device)."""
        if kind not in _OWN_KINDS:
            kind, name = "device", name.partition(":")[0]
        return (kind, name) in self.owned

    async def leave(self) -> None:
        """End the lease now (a clean stop) so that the others take the objects at once; errors are logged."""
        try:
            await asyncio.to_thread(membership.leave, self.engine, self.name, self.epoch)
        except StoreError as exc:
            self.log.warning("poller could not leave; its lease will lapse", poller=self.name, error=str(exc))
        else:
            self.log.info("poller left", poller=self.name, epoch=self.epoch)

    async def reloaded(self, live: LiveState, old: LiveState, removed: list[Transition]) -> list[Transition]:
        """Finish a reload's new live view: restore objects this poller newly owns; keep REMOVED for gone objects only.

        *live* was built from `scope()` of the whole new inventory; *removed* is what `live.adopt(old)`
        returned: objects handed to another poller are not removed.
        """
        present = self.present()
        gained = {key for key in self.owned if key not in old.engine.objects}
        if gained:
            last = await asyncio.to_thread(OutageLedger(self.engine).last_states)
            live.restore(row for row in last if (row.kind, row.name) in gained)
        return [t for t in removed if (t.kind, t.name) not in present]

    async def whole_states(self, own: dict[ObjectKey, State]) -> dict[ObjectKey, State]:
        """Return every object's state: *own* (this poller's) over the last recorded ones. Raises StoreError."""
        last = await asyncio.to_thread(OutageLedger(self.engine).last_states)
        return {(row.kind, row.name): row.state for row in last if row.kind != "interface"} | own

    # ---- the pipeline's guard ----------------------------------------------------------------

    def keep(self, batch: Sequence[Transition]) -> list[Transition]:
        """Return the transitions of *batch* whose objects this poller owns now, and removals from the inventory.

        A REMOVED transition comes from the poller that owned the object when it left the inventory
        (a reload's `LiveState.adopt`) or from a start-up: the object has no owner any more.
        """
        return [
            t
            for t in batch
            if self.owns(t.kind, t.name) or (t.new is State.REMOVED and (t.kind, t.name) not in self._present)
        ]

    def check(self, conn: Connection, epoch: int, view: frozenset[Member]) -> None:
        """Fence a write in transaction *conn* (worker thread). Raises FencedError."""
        membership.fence(conn, self.name, epoch, view)

    async def recover(self, *, lease_lost: bool) -> None:
        """After a refused write: join again (lease lost) or re-read the members, and rebuild the live view."""
        async with self._lock:
            if lease_lost:
                self.log.warning("poller lease lost: dropping every object and joining again", poller=self.name,
                                 epoch=self.epoch)  # fmt: skip
                await self.join()
                await self._rebuild(self.view, fresh=True)
            else:
                members = await asyncio.to_thread(membership.live_members, self.engine)
                await self._rebuild(members, fresh=False)

    # ---- the heartbeat task ------------------------------------------------------------------

    async def run(self) -> None:
        """Heartbeat and follow the live members until cancelled; database errors are logged and retried."""
        listener = asyncio.create_task(self._listen(), name="poller-listen")
        try:
            while True:
                try:
                    async with asyncio.timeout(self.config.beat):
                        await self._notified.wait()
                except TimeoutError:
                    pass
                self._notified.clear()
                try:
                    await self._beat()
                except StoreError as exc:
                    self.log.warning("poller heartbeat failed; retrying", poller=self.name, error=str(exc))
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _beat(self) -> None:
        held = await finish_thread(membership.heartbeat, self.engine, self.name, self.epoch, self.config.failover_delay)
        if not held:
            await self.recover(lease_lost=True)
            return
        self._beat_at = time.monotonic()
        members = await finish_thread(membership.live_members, self.engine)
        if members != self.view:
            async with self._lock:
                await self._rebuild(members, fresh=False)

    async def _listen(self) -> None:
        """Wake the heartbeat at once on a join or leave (LISTEN netmon_pollers) on a connection of its own.

        A lost connection only delays a rebalance to the next heartbeat: it is opened again after one.
        Cancelled while the connection is being opened, it closes that connection once the thread
        returns it (`finish_thread`'s *on_late*): no connection is left to the garbage collector.
        """
        while True:
            raw: Any = None
            try:
                raw = await finish_thread(self._listening, on_late=_invalidate)
                while True:
                    if await asyncio.to_thread(self._wait_notify, raw, self.config.beat):
                        self._notified.set()
            except Exception as exc:  # noqa: BLE001 (the heartbeat still reads the members)
                self.log.debug("poller listen failed", error=repr(exc))
            finally:
                if raw is not None:
                    _invalidate(raw)
            await asyncio.sleep(self.config.beat)  # before listening again, not synchronisation

    def _listening(self) -> Any:
        """Return a pool connection taken out for LISTEN (worker thread); closed again if LISTEN fails."""
        raw = self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            driver.autocommit = True
            driver.execute(f"LISTEN {membership.CHANNEL}")
        except BaseException:
            raw.invalidate()
            raise
        return raw

    @staticmethod
    def _wait_notify(raw: Any, timeout: float) -> bool:
        """Block up to *timeout* seconds for a notification; tell whether one came (worker thread)."""
        return any(True for _ in raw.driver_connection.notifies(timeout=timeout, stop_after=1))

    # ---- hand-over ---------------------------------------------------------------------------

    async def _rebuild(self, members: frozenset[Member], *, fresh: bool) -> None:
        """Recompute ownership from *members* and rebuild the live view as a reload does (see the module doc)."""
        from netmon.monitor.live import LiveState  # noqa: PLC0415 (live imports the exporters)

        runtime = self.runtime
        old_view, old_owned = self.view, self.owned
        async with runtime.conclude_lock:  # no round is half concluded on the view being replaced
            old: LiveState = runtime.live
            self.view = members
            scoped = self.scope(self.inventory)
            live = LiveState(runtime.config, scoped, old.schedule)
            if not fresh:
                live.adopt(old)  # handed-over objects give no REMOVED: they live on at their new owner
            gained = self.owned - (frozenset() if fresh else old_owned)
            if gained:
                last = await asyncio.to_thread(OutageLedger(self.engine).last_states)
                gained_devices = {name for kind, name in gained if kind == "device"}
                live.restore(
                    row for row in last
                    if (row.kind, row.name) in gained
                    or (row.kind not in _OWN_KINDS and row.name.partition(":")[0] in gained_devices)
                )  # fmt: skip
            runtime.live = live
            runtime.heap.settle()  # as a reload does (netmon.heap)
        gone = {m.name for m in old_view} - {m.name for m in members}
        taken: dict[str, int] = {}
        if gone and not fresh:
            for key, shard in shards(self.inventory).items():
                was = owner(shard, old_view) if key in gained else None
                if was in gone:
                    taken[was] = taken.get(was, 0) + 1
        self.log.info("poller ownership changed", poller=self.name, owned=len(self.owned), gained=len(gained),
                      lost=len(old_owned - self.owned), members=sorted(m.name for m in members),
                      taken_over=taken or None)  # fmt: skip
        for was, count in taken.items():
            self.takeovers += 1
            await self._announce(was, count)
        runtime.wake()

    async def _announce(self, was: str, count: int) -> None:
        """Write the takeover event to the outbox, fenced (MQTT off: only logged and counted)."""
        if self.prefix is None:
            return
        payload = {
            "schema": SCHEMA, "id": uuid.uuid4().hex, "ts": utcnow().astimezone(UTC).isoformat(), "kind": "takeover",
            "poller": self.name, "epoch": self.epoch, "from": was, "objects": count,
        }  # fmt: skip
        message = OutboxMessage(
            event_id=str(payload["id"]), topic=event_topic(self.prefix, "poller"),
            payload=json.dumps(payload, separators=(",", ":")),
        )  # fmt: skip
        epoch, view = self.epoch, self.view

        def write() -> None:
            with transaction(self.engine, "poller event") as conn:
                self.check(conn, epoch, view)
                Outbox(self.engine).add(conn, [message])

        try:
            await asyncio.to_thread(write)
        except Exception as exc:  # noqa: BLE001 (the event is a report; ownership has already moved)
            self.log.warning("poller takeover event not written", error=str(exc))

    def lease_age(self) -> float:
        """Return the seconds since the last heartbeat this poller's lease was extended by."""
        return time.monotonic() - self._beat_at


class PollerCollector(Collector):
    """Exports `netmon_poller_owned_objects`, `netmon_poller_lease_age_seconds`, `netmon_poller_takeovers_total`."""

    def __init__(self, node: ClusterNode) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        """Yield the poller's metrics from its in-memory state (no I/O)."""
        node = self._node
        owned = GaugeMetricFamily(
            "netmon_poller_owned_objects", "Devices, links and services this poller owns.", labels=["poller", "kind"]
        )
        for kind in ("device", "link", "service"):
            owned.add_metric([node.name, kind], sum(1 for k, _ in node.owned if k == kind))
        yield owned
        yield _single(
            GaugeMetricFamily(
                "netmon_poller_lease_age_seconds",
                "Seconds since this poller's lease was last extended.",
                labels=["poller"],
            ),
            node.name,
            node.lease_age(),
        )
        yield _single(
            CounterMetricFamily(
                "netmon_poller_takeovers", "Takeovers of a lapsed poller's objects.", labels=["poller"]
            ),
            node.name,
            node.takeovers,
        )
        yield _single(
            GaugeMetricFamily("netmon_poller_epoch", "This poller's fencing epoch.", labels=["poller"]),
            node.name,
            node.epoch,
        )


def _single(family: Any, name: str, value: float) -> Metric:
    family.add_metric([name], value)
    return family  # type: ignore[no-any-return]


def _invalidate(raw: Any) -> None:
    """Close a LISTEN connection: the LISTEN dies with it, and it never goes back to the pool."""
    raw.invalidate()
