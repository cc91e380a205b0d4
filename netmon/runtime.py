"""The state the running daemon's components share: config, live view, database, pollers, pipeline.

`netmon.daemon` builds one `Runtime` and hands it to each component (API service, reload,
trap polls, round handling, roll-ups). A reload replaces `config`, `catalog` and `live` as a
whole, so a component reads them through the runtime each time and never keeps its own copy.
Everything here runs on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry

from netmon.config import Config, MetricsConfig
from netmon.errors import NetmonError, StoreError
from netmon.heap import Settler
from netmon.indicators.definitions import catalog_for
from netmon.inventory import schema
from netmon.inventory.health import DbHealthCollector, health_of
from netmon.inventory.store import Store
from netmon.kernel import utcnow
from netmon.loading import check_profiles
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.sinks.exposition import Exposition
from netmon.sinks.prometheus import Instruments
from netmon.sinks.sections import sections

if TYPE_CHECKING:
    from netmon.cluster.node import ClusterNode
    from netmon.discovery.watch import TopologyWatch
    from netmon.indicators.compute import LiveRows
    from netmon.indicators.row import IndicatorRow
    from netmon.monitor.live import LiveState
    from netmon.monitor.pipeline import TransitionPipeline
    from netmon.monitor.rounds import Pollers
    from netmon.monitor.scheduler import PollScheduler, RoundStats
    from netmon.monitor.windows import WindowStore

__all__ = ["Runtime", "require"]

_NO_NEIGHBOURS: Mapping[str, int] = MappingProxyType({})  # one object: the kept topology text holds

_T = TypeVar("_T")


def require(value: _T | None) -> _T:
    """Return *value*; raise NetmonError("the daemon is not running") when it is not there yet."""
    if value is None:
        raise NetmonError("the daemon is not running")
    return value


class Runtime:
    """Shared, replaceable state of one `netmon run`; the parts that exist only while running start as None."""

    def __init__(self, config: Config, *, registry: CollectorRegistry | None = None, log: Any = None) -> None:
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self.instruments = Instruments.register(self.registry)
        self.log = log if log is not None else structlog.get_logger("netmon.daemon")
        self.zone = ZoneInfo(config.timezone)
        self.catalog = catalog_for(config.indicators)  # a bad definitions file fails here, before anything runs
        #: The indicator loop's last rows: the live gauges, and served again by the API.
        self.live_rows: LiveRows | None = None
        #: /metrics' per-object families, kept per object until its samples or states change (issue 12)
        self.exposition = Exposition(
            lambda: self.live,
            sections(self._gauges, lambda: self.config.metrics.indicators, self._neighbours),
            self._metrics,
            observe=lambda path, seconds: self.instruments.exposition.labels(path).observe(seconds),
        )
        #: The topology poll's watch (`netmon run` sets it): its neighbour counts are exported.
        self.topology: TopologyWatch | None = None
        self.reloads = 0
        self.engine: sa.Engine | None = None
        self.windows: WindowStore | None = None
        self.pollers: Pollers | None = None
        self.scheduler: PollScheduler | None = None
        self.pipeline: TransitionPipeline | None = None
        self.cluster: ClusterNode | None = None  # one poller of several (config `poller.name`, issue 19)
        #: Held while a round's transitions are concluded (stepwise, yielding) or the live view is swapped.
        self.conclude_lock = asyncio.Lock()
        self.heap = Settler()  # the GC's view of the long-lived heap (netmon.heap)
        self.ping_done = asyncio.Event()  # set after each ping round: recompute the live indicators
        self._live: LiveState | None = None
        self._tick = asyncio.Event()

    @property
    def live(self) -> LiveState:
        """Return the live view (raises NetmonError before start-up)."""
        return require(self._live)

    @live.setter
    def live(self, value: LiveState) -> None:
        self._live = value

    def _gauges(self) -> Sequence[IndicatorRow]:
        return self.live_rows.rows if self.live_rows is not None else ()

    def _neighbours(self) -> Mapping[str, int]:
        return self.topology.neighbours if self.topology is not None else _NO_NEIGHBOURS

    def _metrics(self) -> MetricsConfig:
        return self.config.metrics

    @property
    def started(self) -> bool:
        """Tell whether the live view exists (start-up has read the inventory)."""
        return self._live is not None

    async def open(self, stack: AsyncExitStack) -> None:
        """Open the engine (disposed by *stack*), check the schema, read the inventory, build the live view and pollers.

        Raises StoreError when the database is not at `schema.HEAD` or refuses writes, PollError when a poll class
        cannot poll at all (e.g. no ICMP socket), ConfigError for a bad maintenance window.
        """
        from netmon.monitor.live import LiveState  # noqa: PLC0415 (live imports the exporters, which import this)
        from netmon.monitor.rounds import Pollers  # noqa: PLC0415
        from netmon.monitor.windows import WindowStore  # noqa: PLC0415

        engine = self.engine = schema.create_engine(self.config.database.url.reveal())
        stack.callback(schema.dispose, engine)  # also closes what shutdown left in worker threads
        self.registry.register(DbHealthCollector(health_of(engine)))
        await asyncio.to_thread(_check_schema, engine)
        inventory = await asyncio.to_thread(Store(engine).snapshot)
        check_profiles(self.config, inventory, "config")  # ConfigError (exit 2): a profile the inventory uses
        self.windows = WindowStore(engine)
        windows = [Window.from_config(c) for c in self.config.maintenance]
        windows += await asyncio.to_thread(self.windows.active, utcnow())
        schedule = MaintenanceSchedule(inventory, self.zone, windows)  # the whole inventory: windows name any object
        if self.config.poller.clustered:
            from netmon.cluster.node import ClusterNode, PollerCollector  # noqa: PLC0415

            self.cluster = ClusterNode(engine, self.config.poller, log=self.log)
            self.cluster.runtime = self
            await self.cluster.join()
            self.registry.register(PollerCollector(self.cluster))
            inventory = self.cluster.scope(inventory)
        self.live = LiveState(self.config, inventory, schedule)
        self.pollers = Pollers(self.config)
        stack.push_async_callback(lambda: require(self.pollers).aclose())  # the current ones, after any reload
        await self.pollers.check()

    def stats(self) -> dict[str, RoundStats]:
        """Return the scheduler's round statistics (empty before it starts)."""
        return dict(self.scheduler.stats) if self.scheduler is not None else {}

    def wake(self) -> None:
        """Wake everyone in `wait_until`: a round ended, a batch was written, a reload happened."""
        self._tick.set()
        self._tick = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until *predicate* holds, re-checked after every `wake()` (bound it with a timeout)."""
        while not predicate():
            await self._tick.wait()


def _check_schema(engine: sa.Engine) -> None:
    current = schema.current_revision(engine)
    if current != schema.HEAD:
        raise StoreError(
            f"the database is at schema {current or 'empty'}, this netmon needs {schema.HEAD}: run `netmon db upgrade`"
        )
    schema.check_writable(engine)  # a read-only database or a full disk refuses the start (issue 15)
