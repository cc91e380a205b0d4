"""The composition root of `netmon run`: one event loop, every resource on one AsyncExitStack.

Opened in order (closed in reverse): database engine, background task group (recorder,
availability roll-up, watchdog), HTTP server, poll scheduler. SIGTERM sets the stop event: the
scheduler stops and cancels rounds in flight, the recorder writes every queued transition, the
HTTP server closes, and the engine is disposed, all within `SHUTDOWN_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry

from netmon.api.access import Access
from netmon.api.http import HttpServer
from netmon.config import Config
from netmon.errors import InputError, NetmonError, StoreError
from netmon.indicators.compute import compute, live_rows
from netmon.indicators.definitions import catalog_for
from netmon.inventory import schema
from netmon.inventory.models import Level
from netmon.inventory.store import Store
from netmon.monitor.availability import rollup_day
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.monitor.outages import OutageLedger, OutageRecord
from netmon.monitor.rounds import Pollers, RoundResult, targets_of
from netmon.monitor.scheduler import PollScheduler, RoundStats
from netmon.monitor.state import Transition
from netmon.monitor.windows import WindowStore
from netmon.pollers.base import Sample, Status, Target, utcnow
from netmon.pollers.traps import TrapEvent, TrapReceiver
from netmon.sinks.events import messages_for
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.outbox import Outbox
from netmon.sinks.prometheus import IndicatorGauge, Instruments, LiveCollector, ServiceCollector
from netmon.systemd import notify, watchdog_interval, watchdog_loop

__all__ = ["SHUTDOWN_TIMEOUT", "Daemon"]

#: Longest a graceful stop may take before the remaining work is cancelled (seconds).
SHUTDOWN_TIMEOUT = 10.0
_RETRY_FIRST, _RETRY_CAP = 0.5, 30.0
#: Seconds after a linkDown/linkUp trap's poll until the confirming second poll.
TRAP_CONFIRM_DELAY = 6.0


class Daemon:
    """netmon's monitoring process; `run()` until the stop event is set."""

    def __init__(
        self,
        config: Config,
        *,
        registry: CollectorRegistry | None = None,
        log: Any = None,
        load_config: Callable[[], Config] | None = None,
    ) -> None:
        self.config = config
        self._load_config = load_config
        self._reload = asyncio.Event()
        self.reloads = 0
        self.registry = registry if registry is not None else CollectorRegistry()
        self.instruments = Instruments.register(self.registry)
        self.log = log if log is not None else structlog.get_logger("netmon.daemon")
        self.zone = ZoneInfo(config.timezone)
        self.catalog = catalog_for(config.indicators)  # a bad definitions file fails here, before anything runs
        self._gauges: list[IndicatorGauge] = []
        self._ping_done = asyncio.Event()
        self.mqtt: MqttPublisher | None = None
        self.traps: TrapReceiver | None = None
        self._trapped: asyncio.Queue[tuple[TrapEvent, bool]] = asyncio.Queue(maxsize=1000)
        self._pollers: Pollers | None = None
        self._addresses: tuple[int, dict[str, tuple[str, str | None]]] = (0, {})
        self.http: HttpServer | None = None
        self.recorded = 0  # transition batches written
        self._queued = 0
        self._live: LiveState | None = None
        self._scheduler: PollScheduler | None = None
        self._engine: sa.Engine | None = None
        self._ledger: OutageLedger | None = None
        self._windows: WindowStore | None = None
        self._queue: asyncio.Queue[list[Transition] | None] = asyncio.Queue()
        self._tick = asyncio.Event()
        self._listeners: list[Callable[[Sequence[Transition]], None]] = []

    # ---- what the HTTP server and tests read ------------------------------------------------

    @property
    def live(self) -> LiveState:
        """Return the live view (raises before start-up)."""
        if self._live is None:
            raise NetmonError("the daemon is not running")
        return self._live

    @property
    def engine(self) -> sa.Engine:
        """Return the database engine (raises before start-up)."""
        return _require(self._engine)

    def stats(self) -> dict[str, RoundStats]:
        """Return the scheduler's round statistics."""
        return dict(self._scheduler.stats) if self._scheduler is not None else {}

    def ready(self) -> list[str]:
        """Return why the daemon is not ready (empty when the first ping round is done)."""
        if self._live is None:
            return ["starting"]
        return [] if self._live.rounds["ping"] else ["the first ping round has not finished"]

    @property
    def flushed(self) -> bool:
        """Tell whether every transition so far is written to the database."""
        return self.recorded == self._queued

    def on_transitions(self, listener: Callable[[Sequence[Transition]], None]) -> None:
        """Call *listener* with every batch of transitions (the MQTT publisher subscribes here)."""
        self._listeners.append(listener)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until *predicate* holds, re-checked after every round and every write (bound it with a timeout)."""
        while not predicate():
            await self._tick.wait()

    async def db_problem(self) -> str | None:
        """Return None when the database answers within 2 s, else why not."""
        engine = self._engine
        if engine is None:
            return "not open"

        def probe() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        try:
            async with asyncio.timeout(2.0):
                await asyncio.to_thread(probe)
        except (TimeoutError, sa.exc.SQLAlchemyError) as exc:
            return schema.describe(exc) if isinstance(exc, sa.exc.SQLAlchemyError) else "no answer within 2 s"
        return None

    async def outages(self, *, open_only: bool, since: datetime | None) -> list[OutageRecord]:
        """Read outages in a worker thread."""
        ledger = _require(self._ledger)
        return await asyncio.to_thread(ledger.outages, open_only=open_only, since=since)

    async def add_window(self, window: Window) -> Window:
        """Check a window against the inventory, store it, and apply it from the next round."""
        self.live.schedule.check(window)  # raises ConfigError (HTTP 400) before anything is stored
        stored = await asyncio.to_thread(_require(self._windows).add, window)
        self.live.schedule.add(stored)
        return stored

    async def remove_window(self, window_id: int) -> bool:
        """Delete an API window."""
        removed = await asyncio.to_thread(_require(self._windows).remove, window_id)
        return self.live.schedule.remove(window_id) or removed

    async def indicators(self, period: str, level: str | None) -> list[dict[str, Any]]:
        """Compute indicator rows for *period* (live, 2026, 2026-Q3, 2026-09) in a worker thread."""
        try:
            chosen = Level(level) if level not in (None, "", "all") else None
        except ValueError:
            raise InputError(f"level: expected one of {', '.join(m.value for m in Level)} or all") from None
        live = self.live
        if period == "live":
            states = {key: memory.state for key, memory in live.engine.objects.items()}
            rows = await asyncio.to_thread(live_rows, live.inventory, states, self.catalog, level=chosen)
        else:
            rows = await asyncio.to_thread(
                compute,
                self.engine,
                live.inventory,
                period,
                level=chosen,
                zone=self.zone,
                now=utcnow(),
                definitions=self.catalog,
            )
        return [row.to_dict() for row in rows]

    def request_reload(self) -> None:
        """Ask for a reload of the config and the inventory (the SIGHUP handler)."""
        self._reload.set()

    async def reload(self) -> None:
        """Re-read the config and the inventory; keep every state and open outage of what is still there.

        Removed devices and links have their open outages closed as removed. A bad config or
        inventory changes nothing. Settings that need a restart (database, HTTP, MQTT, traps, poll
        intervals) are reported and kept.
        """
        config = await asyncio.to_thread(self._load_config) if self._load_config is not None else self.config
        kept = [
            name
            for name in ("database", "http", "mqtt", "traps")
            if getattr(config, name).model_dump() != getattr(self.config, name).model_dump()
        ]
        intervals = {c: getattr(config.polling, c).interval for c in ("ping", "snmp", "host_resources")}
        if intervals != {c: getattr(self.config.polling, c).interval for c in intervals}:
            kept.append("polling intervals")
        inventory = await asyncio.to_thread(Store(self.engine).snapshot)
        windows = [Window.from_config(c) for c in config.maintenance]
        windows += await asyncio.to_thread(_require(self._windows).active, utcnow())
        schedule = MaintenanceSchedule(inventory, ZoneInfo(config.timezone), windows)  # ConfigError: nothing changes
        catalog = catalog_for(config.indicators)
        old = self.live
        live = LiveState(config, inventory, schedule)
        removed = live.adopt(old)
        self.config, self.catalog, self._live = config, catalog, live
        if self._scheduler is not None:
            self._pollers = Pollers(config)
            self._scheduler.replace_pollers(self._pollers)
        self._publish(removed)
        self.reloads += 1
        added = len(inventory.devices.keys() - old.inventory.devices.keys())
        self.log.info(
            "reloaded",
            devices=len(inventory.devices),
            links=len(inventory.links),
            added_devices=added,
            removed=[f"{t.kind}:{t.name}" for t in removed],
            needs_restart=kept or None,
        )
        self._wake()

    async def _reload_loop(self) -> None:
        while True:
            await self._reload.wait()
            self._reload.clear()
            try:
                await self.reload()
            except NetmonError as exc:
                failure = str(exc)
            else:
                continue
            self.log.error("reload failed; the running config and inventory stay", error=failure)

    def indicator_gauges(self) -> list[IndicatorGauge]:
        """Return the live indicator values last computed (after a ping round)."""
        return self._gauges

    # ---- running ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, on_started: Callable[[Daemon], None] | None = None) -> None:
        """Open everything, poll until *stop* is set, then close everything in reverse order."""
        try:
            await self._run(stop, on_started)
        except ExceptionGroup as group:  # the task group wraps a start-up or task failure: report it plainly
            errors = [e for e in group.exceptions if isinstance(e, NetmonError)]
            if len(errors) == len(group.exceptions) == 1:
                raise errors[0] from None
            raise

    async def _run(self, stop: asyncio.Event, on_started: Callable[[Daemon], None] | None) -> None:
        async with AsyncExitStack() as stack:
            engine = schema.create_engine(self.config.database.url.reveal())
            stack.callback(engine.dispose)
            self._engine = engine
            await asyncio.to_thread(_check_schema, engine)
            store = Store(engine)
            inventory = await asyncio.to_thread(store.snapshot)
            self._ledger = OutageLedger(engine)
            self._windows = WindowStore(engine)
            windows = [Window.from_config(c) for c in self.config.maintenance]
            windows += await asyncio.to_thread(self._windows.active, utcnow())
            live = LiveState(self.config, inventory, MaintenanceSchedule(inventory, self.zone, windows))
            live.restore(await asyncio.to_thread(self._ledger.last_states))
            self._live = live
            self.registry.register(LiveCollector(lambda: self.live, self.stats, self.indicator_gauges))
            self.registry.register(ServiceCollector(lambda: self.mqtt, lambda: self.traps))
            pollers = self._pollers = Pollers(self.config)
            await pollers.ping.check()
            if self.config.mqtt.enabled:  # entered before the tasks: it outlives the recorder's last write
                self.mqtt = await stack.enter_async_context(MqttPublisher(self.config.mqtt, engine, log=self.log))
            tasks = await stack.enter_async_context(asyncio.TaskGroup())
            recorder = tasks.create_task(self._record(), name="recorder")
            stack.push_async_callback(self._stop_recorder, recorder)
            rollup = tasks.create_task(self._rollups(), name="availability-rollup")
            stack.callback(rollup.cancel)
            gauges = tasks.create_task(self._indicator_loop(), name="live-indicators")
            stack.callback(gauges.cancel)
            reloader = tasks.create_task(self._reload_loop(), name="reload")
            stack.callback(reloader.cancel)
            if self.config.traps.enabled:
                self.traps = await stack.enter_async_context(
                    TrapReceiver(
                        self.config.traps, self.config.snmp_profiles, self._trap_sources, self._on_trap, log=self.log
                    )
                )
                trap_polls = tasks.create_task(self._trap_poll_loop(), name="trap-polls")
                stack.callback(trap_polls.cancel)
            interval = watchdog_interval()
            if interval is not None:
                stack.callback(tasks.create_task(watchdog_loop(interval), name="watchdog").cancel)
            self.http = await stack.enter_async_context(
                HttpServer(self.config.http, self, await self._access(), log=self.log)
            )
            self._scheduler = await stack.enter_async_context(
                PollScheduler(
                    pollers,
                    lambda: targets_of(self.live.inventory),
                    on_samples=self._on_samples,
                    on_round=self._on_round,
                )
            )
            self.log.info(
                "netmon running",
                devices=len(inventory.devices),
                links=len(inventory.links),
                metrics=f"{self.http.url}/metrics",
                api=f"{self.http.url}/api/v1/devices",
            )
            if on_started is not None:
                on_started(self)
            await stop.wait()
            notify("STOPPING=1")
            self.log.info("stopping: finishing rounds and writing state")

    async def _access(self) -> Access:
        """Load the web config and apply the exposure rule (issue 14); ConfigError stops the start."""
        mqtt = self.mqtt
        return await asyncio.to_thread(
            Access.open,
            self.config.http,
            self.config.web.config_file,
            self.engine,
            log=self.log,
            mqtt_prefix=self.config.mqtt.topic_prefix if mqtt is not None else None,
            wake=mqtt.wake if mqtt is not None else None,
        )

    async def _stop_recorder(self, recorder: asyncio.Task[None]) -> None:
        """Write what is queued, then end the recorder; cancel it if that takes too long."""
        self._queue.put_nowait(None)
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await asyncio.shield(recorder)
        except TimeoutError:
            recorder.cancel()
        if recorder.cancelled():
            self.log.error("shutdown timed out; transitions still queued are lost", queued=self._queue.qsize())

    def _on_samples(self, samples: Sequence[Sample]) -> None:
        self.live.record(samples)

    def _on_round(self, result: RoundResult, stats: RoundStats) -> None:
        live = self.live
        for status, count in result.by_status().items():
            self.instruments.samples.labels(result.poll_class, status).inc(count)
        self.instruments.round_duration.labels(result.poll_class).observe(result.duration)
        first_ready = result.poll_class == "ping" and not live.rounds["ping"]
        self._publish(live.conclude(result, utcnow()))
        if result.poll_class == "ping":
            self._ping_done.set()
        if first_ready:
            notify("READY=1")
            self.log.info("first round done: ready", duration=round(result.duration, 3))
        self._wake()

    def _wake(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def _record(self) -> None:
        """Write transition batches in order; on a database error keep the batch and retry with backoff."""
        ledger = _require(self._ledger)
        outbox = Outbox(_require(self._engine)) if self.mqtt is not None else None
        prefix = self.config.mqtt.topic_prefix
        delay = _RETRY_FIRST
        while (batch := await self._queue.get()) is not None:
            messages = messages_for(batch, prefix) if outbox is not None else []

            def events(conn: sa.Connection, messages: list[Any] = messages) -> None:
                if outbox is not None:
                    outbox.add(conn, messages)

            while True:
                started = time.perf_counter()
                try:
                    await asyncio.to_thread(ledger.apply, batch, also=events)
                except StoreError as exc:
                    self.log.warning("cannot record transitions; retrying", error=str(exc), retry_in=delay)
                    await asyncio.sleep(delay)  # backoff, not synchronisation
                    delay = min(delay * 2, _RETRY_CAP)
                    continue
                self.instruments.db_write.labels("transitions").observe(time.perf_counter() - started)
                if self.mqtt is not None:
                    self.mqtt.wake()
                delay = _RETRY_FIRST
                break
            self.recorded += 1
            self._wake()

    def _trap_sources(self) -> dict[str, tuple[str, str | None]]:
        """Map device addresses to (name, profile) for the trap receiver; rebuilt only after a reload."""
        if self._addresses[0] != self.reloads or not self._addresses[1]:
            devices = self.live.inventory.devices
            self._addresses = (self.reloads, {d.address: (n, d.snmp) for n, d in devices.items() if d.enabled})
        return self._addresses[1]

    def _on_trap(self, event: TrapEvent, *, again: bool = False) -> None:
        try:
            self._trapped.put_nowait((event, again))
        except asyncio.QueueFull:
            self.log.warning("trap storm: immediate polls are queued to the limit; this trap waits for its round")

    async def _trap_poll_loop(self) -> None:
        """Poll a device at once when it sends linkDown/linkUp/coldStart/warmStart: the poll decides, not the trap."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():  # a poller swallowed the cancellation (gufo-ping can)
                raise asyncio.CancelledError
            event, again = await self._trapped.get()
            if not again and event.trap in ("linkDown", "linkUp"):
                # agents may answer from a cache for seconds after the change (net-snmp keeps its
                # ifTable ~5 s): a second poll confirms what the first could not yet see
                loop.call_later(TRAP_CONFIRM_DELAY, functools.partial(self._on_trap, event, again=True))
            live, pollers = self.live, _require(self._pollers)
            device = live.inventory.devices.get(event.device)
            if device is None or not device.enabled:
                continue
            target = Target(
                device=event.device, address=device.address, unit=device.unit, role=device.role, snmp=device.snmp
            )
            for poll_class in ("snmp", "ping"):  # interfaces first, so the link judgement sees them
                if not pollers.applies(poll_class, target):
                    continue
                started = utcnow()
                try:
                    async with asyncio.timeout(pollers.deadline(poll_class)):
                        samples = await pollers.poll(poll_class, target)
                except TimeoutError:
                    samples = pollers.failed(poll_class, target, Status.TIMEOUT, "no answer (trap-triggered poll)")
                live.record(samples)
                result = RoundResult(poll_class=poll_class, started=started, duration=0.0, samples=tuple(samples))
                self._publish(live.conclude(result, utcnow(), extra=True))
            self._wake()

    def _publish(self, transitions: list[Transition]) -> None:
        """Log, queue for the database and tell the listeners about *transitions*."""
        for t in transitions:
            if t.kind != "interface":
                self.log.info(
                    "state changed",
                    kind=t.kind,
                    name=t.name,
                    old=t.old.value,
                    new=t.new.value,
                    root_cause=t.root_cause,
                    flapping=t.flapping,
                )
        if transitions:
            self._queued += 1
            self._queue.put_nowait(transitions)
            for listener in self._listeners:
                listener(transitions)

    async def _indicator_loop(self) -> None:
        """Recompute the live indicator gauges after each ping round, off the event loop."""
        while True:
            await self._ping_done.wait()
            self._ping_done.clear()
            live = self.live
            states = {key: memory.state for key, memory in live.engine.objects.items() if key[0] != "interface"}
            rows = await asyncio.to_thread(live_rows, live.inventory, states, self.catalog)
            self._gauges = [(row.indicator, row.label, row.level, row.a, row.b) for row in rows]
            self._wake()

    async def _rollups(self) -> None:
        """Refresh today's availability (and finish yesterday's once the day turns) every interval."""
        engine = _require(self._engine)
        last_day = None
        while True:
            now = utcnow()
            today = now.astimezone(self.zone).date()
            days = [today] if last_day in (None, today) else [today - timedelta(days=1), today]
            started = time.perf_counter()
            try:
                for day in days:
                    await asyncio.to_thread(rollup_day, engine, self.live.inventory, day, self.zone, now)
                self.instruments.db_write.labels("availability").observe(time.perf_counter() - started)
                last_day = today
            except StoreError as exc:
                self.log.warning("availability roll-up failed; will retry", error=str(exc))
            await asyncio.sleep(self.config.availability.rollup_interval)  # a period


_T = TypeVar("_T")


def _require(value: _T | None) -> _T:
    if value is None:
        raise NetmonError("the daemon is not running")
    return value


def _check_schema(engine: sa.Engine) -> None:
    current = schema.current_revision(engine)
    if current != schema.HEAD:
        raise StoreError(
            f"the database is at schema {current or 'empty'}, this netmon needs {schema.HEAD}: run `netmon db upgrade`"
        )
