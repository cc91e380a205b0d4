"""The composition root of `netmon run`: one event loop, every resource on one AsyncExitStack.

Opened in order (closed in reverse): database engine, MQTT publisher, background task group
(recorder, availability roll-up, live indicators, reload, trap polls, watchdog), HTTP server,
poll scheduler. Each component registers its own cleanup as it is opened. SIGTERM sets the stop
event: the scheduler stops and cancels rounds in flight, the recorder writes every queued
transition, the HTTP server closes, and the engine is disposed, all within `SHUTDOWN_TIMEOUT`.
The parts live in their own modules: `netmon.runtime` (shared state), `monitor.pipeline`,
`monitor.reload`, `monitor.trappolls`, `monitor.loops`, `api.service`.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from netmon.api.access import Access, check_exposure
from netmon.api.http import HttpServer
from netmon.api.service import ApiService
from netmon.api.webconfig import WebConfig
from netmon.config import Config
from netmon.discovery.loop import TopologyCollector, topology_loop
from netmon.discovery.watch import TopologyWatch
from netmon.errors import NetmonError
from netmon.monitor.live import LiveState
from netmon.monitor.loops import RoundHandler, indicator_loop, rollup_loop
from netmon.monitor.pipeline import TransitionPipeline
from netmon.monitor.reconcile import removed_since_last_run
from netmon.monitor.reload import Reloader
from netmon.monitor.rounds import TargetList
from netmon.monitor.scheduler import PollScheduler
from netmon.monitor.trappolls import TrapPolls
from netmon.runtime import Runtime, require
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.prometheus import LiveCollector, ServiceCollector
from netmon.systemd import notify, watchdog_interval, watchdog_loop

if TYPE_CHECKING:
    from netmon.pollers.traps import TrapReceiver

__all__ = ["SHUTDOWN_TIMEOUT", "Daemon"]

#: Longest a graceful stop may take before the remaining work is cancelled (seconds).
SHUTDOWN_TIMEOUT = 10.0


class Daemon:
    """netmon's monitoring process; `run()` until the stop event is set. Tests read `runtime`'s parts here."""

    def __init__(
        self,
        config: Config,
        *,
        registry: CollectorRegistry | None = None,
        log: Any = None,
        load_config: Callable[[], Config] | None = None,
    ) -> None:
        self.runtime = rt = Runtime(config, registry=registry, log=log)
        self.reloader = Reloader(rt, load_config)
        self.request_reload, self.reload = self.reloader.request, self.reloader.reload
        self.wait_until = rt.wait_until
        self.mqtt: MqttPublisher | None = None
        self.traps: TrapReceiver | None = None
        self.http: HttpServer | None = None

    def signalled(self, signum: signal.Signals) -> None:
        """Handle a reload signal (SIGHUP): request a reload, audited as `signal:NAME` from `local`."""
        self.reloader.request(signal=signum.name)

    @property
    def live(self) -> LiveState:
        """Return the live view (raises NetmonError before start-up)."""
        return self.runtime.live

    @property
    def engine(self) -> sa.Engine:
        """Return the database engine (raises NetmonError before start-up)."""
        return require(self.runtime.engine)

    @property
    def pipeline(self) -> TransitionPipeline:
        """Return the transition pipeline (raises NetmonError before start-up)."""
        return require(self.runtime.pipeline)

    @property
    def flushed(self) -> bool:
        """Tell whether every transition so far is written to the database."""
        return self.pipeline.flushed

    @property
    def recorded(self) -> int:
        """Return how many transition batches were written."""
        return self.pipeline.recorded

    def indicator_gauges(self) -> list[tuple[str, str, str, float, float | None]]:
        """Return the live indicator values last computed (after a ping round): (indicator, label, level, a, b)."""
        kept = self.runtime.live_rows
        return [(row.indicator, row.label, row.level, row.a, row.b) for row in (kept.rows if kept else ())]

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
        rt, config = self.runtime, self.runtime.config
        # the exposure rule before anything is opened: a refused listen address published nothing (issue 14)
        web = await asyncio.to_thread(check_exposure, config.http, config.web.config_file)
        async with AsyncExitStack() as stack:
            await rt.open(stack)
            engine = require(rt.engine)
            rt.registry.register(LiveCollector(lambda: rt.live, rt.stats))
            rt.registry.register(ServiceCollector(lambda: self.mqtt, lambda: self.traps))
            if config.mqtt.enabled:  # entered before the tasks: it outlives the recorder's last write
                self.mqtt = await stack.enter_async_context(
                    MqttPublisher(config.mqtt, engine, log=rt.log, shared=config.poller.clustered)
                )
            prefix = config.mqtt.topic_prefix if self.mqtt else None
            rt.pipeline = pipeline = TransitionPipeline(
                engine,
                prefix=prefix,
                instruments=rt.instruments,
                log=rt.log,
                on_written=self._written,
                guard=rt.cluster,
            )
            if rt.cluster is not None:
                rt.cluster.prefix = prefix
            access = await self._access(web)  # before the tasks: a reload by signal is audited through it
            await self._resume(pipeline)
            tasks = await stack.enter_async_context(asyncio.TaskGroup())
            if rt.cluster is not None:  # leaves after the recorder's last write (the stack unwinds in reverse)
                stack.push_async_callback(rt.cluster.leave)
            recorder = tasks.create_task(pipeline.run(), name="recorder")
            stack.push_async_callback(pipeline.stop, recorder, SHUTDOWN_TIMEOUT)
            loops = {"availability-rollup": rollup_loop(rt), "live-indicators": indicator_loop(rt)}
            loops["reload"] = self.reloader.run(audit=access.record)
            if rt.cluster is not None:
                loops["poller-membership"] = rt.cluster.run()
            if config.traps.enabled:
                from netmon.pollers.traps import TrapReceiver  # noqa: PLC0415 (pysnmp, ~20 MB: only with traps)

                polls = TrapPolls(rt)
                receiver = TrapReceiver(config.traps, config.snmp_profiles, polls.sources, polls.on_trap, log=rt.log)
                self.traps = await stack.enter_async_context(receiver)
                loops["trap-polls"] = polls.run()
            rt.topology = topology = TopologyWatch(config)
            rt.registry.register(TopologyCollector(topology))
            loops["topology"] = topology_loop(rt, topology, wake=self.mqtt.wake if self.mqtt is not None else None)
            if (interval := watchdog_interval()) is not None:
                loops["watchdog"] = watchdog_loop(interval)
            for name, loop in loops.items():
                stack.callback(tasks.create_task(loop, name=name).cancel)
            service = ApiService(rt, request_reload=self.reloader.request)
            http = self.http = await stack.enter_async_context(HttpServer(config.http, service, access, log=rt.log))
            rounds = RoundHandler(rt)
            targets = TargetList(lambda: rt.live.inventory)  # read at each round: reloads replace the inventory
            scheduler = PollScheduler(
                require(rt.pollers), targets, on_samples=rounds.on_samples, on_round=rounds.on_round
            )
            rt.scheduler = await stack.enter_async_context(scheduler)
            inventory = rt.live.inventory
            rt.log.info("netmon running", devices=len(inventory.devices), links=len(inventory.links),
                        metrics=f"{http.url}/metrics", api=f"{http.url}/api/v1/devices")  # fmt: skip
            if on_started is not None:
                on_started(self)
            await stop.wait()
            notify("STOPPING=1")
            rt.log.info("stopping: finishing rounds and writing state")

    async def _resume(self, pipeline: TransitionPipeline) -> None:
        """Restore the states of the last run, report what went while stopped, and settle the heap."""
        rt = self.runtime
        last = await asyncio.to_thread(pipeline.ledger.last_states)
        rt.live.restore(last)
        present = rt.cluster.present() if rt.cluster is not None else None  # other pollers' objects are not gone
        pipeline.publish(removed_since_last_run(rt.live, last, present))  # gone while stopped: as a reload does
        rt.log.info("heap settled", **rt.heap.settle())  # before any poll

    def _written(self) -> None:
        if self.mqtt is not None:
            self.mqtt.wake()
        self.runtime.wake()

    async def _access(self, web: WebConfig | None) -> Access:
        """Open the HTTP access with *web*, read by `check_exposure` at the start (issue 14)."""
        rt, mqtt = self.runtime, self.mqtt
        return await asyncio.to_thread(
            Access.open,
            rt.config.http,
            web,
            require(rt.engine),
            log=rt.log,
            mqtt_prefix=rt.config.mqtt.topic_prefix if mqtt is not None else None,
            wake=mqtt.wake if mqtt is not None else None,
        )
