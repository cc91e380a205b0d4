"""The API's application service: what `/readyz`, `/api/v1/...` read and change, over the running daemon.

It implements `netmon.api.http.Backend`; every database call runs in a worker thread. The
HTTP layer (`api/http.py`) keeps the URLs, the JSON shapes and the middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from netmon.api.pages import PageCache, Rows
from netmon.api.queries import WindowsAt, outage_json, select_indicators, select_outages
from netmon.errors import InputError
from netmon.indicators.compute import compute as compute_rows
from netmon.indicators.compute import live_rows
from netmon.indicators.period import parse_period
from netmon.indicators.row import IndicatorRow
from netmon.inventory import schema
from netmon.inventory.health import health_of
from netmon.inventory.models import Level
from netmon.kernel import utcnow
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import Window
from netmon.monitor.outages import OutageRecord, parse_since
from netmon.runtime import Runtime, require
from netmon.sinks.exposition import Exposition

__all__ = ["DB_PROBE_TIMEOUT", "ApiService"]

#: Longest `/readyz` waits for the database to answer `SELECT 1` (seconds).
DB_PROBE_TIMEOUT = 2.0


class ApiService:
    """The daemon as the HTTP API sees it (`Backend`)."""

    def __init__(self, runtime: Runtime, *, request_reload: Callable[[], None] | None = None) -> None:
        self._runtime = runtime
        self._request_reload = request_reload
        self.registry: CollectorRegistry = runtime.registry  # what `/metrics` renders, with the exposition
        self.exposition: Exposition | None = runtime.exposition
        self.pages = PageCache()  # big answers, selected once per state, a page serialised when served (issue 12)
        self._window_changes = 0

    def request_reload(self) -> None:
        """Ask the daemon to re-read its config and inventory (POST /api/v1/reload); ignored when not running."""
        if self._request_reload is not None:
            self._request_reload()

    @property
    def interfaces_on_main(self) -> bool:
        """Tell whether /metrics carries the interface families too (`metrics.interfaces_path: main`)."""
        return self._runtime.config.metrics.interfaces_path == "main"

    @property
    def live(self) -> LiveState:
        """Return the live view (raises NetmonError before start-up)."""
        return self._runtime.live

    def ready(self) -> list[str]:
        """Return why the daemon is not ready: empty once every enabled device has its first ping sample.

        Before that, the reason names the devices still awaited (`LiveState.not_ready`). The first
        round starts at once and is spread only as long as its size needs (`rounds.START_RATE`),
        so a small inventory is ready within a ping timeout or so (issue 12).
        """
        if not self._runtime.started:
            return ["starting"]
        return self._runtime.live.not_ready()

    async def db_problem(self) -> str | None:
        """Return None when the database answers within `DB_PROBE_TIMEOUT` and writes do not fail, else why not."""
        engine = self._runtime.engine
        if engine is None:
            return "not open"

        def probe() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        try:
            async with asyncio.timeout(DB_PROBE_TIMEOUT):
                await asyncio.to_thread(probe)
        except (TimeoutError, sa.exc.SQLAlchemyError) as exc:
            if isinstance(exc, sa.exc.SQLAlchemyError):
                return schema.describe(exc)
            return f"no answer within {DB_PROBE_TIMEOUT:g} s"
        return health_of(engine).problem()  # answers, but are writes failing? (issue 15)

    def _stamp(self) -> tuple[int, ...]:
        """Return what changes when cached answers must: a reload, a batch published or written, a window."""
        rt = self._runtime
        pipeline = rt.pipeline
        batches = (pipeline.queued, pipeline.recorded) if pipeline is not None else (-1, -1)
        return (rt.reloads, id(rt.live), *batches, self._window_changes)

    async def outage_rows(
        self,
        *,
        open_only: bool,
        since: str | None,
        units: set[str] | None,
        cause: str | None,
        kind: str | None,
    ) -> Rows[tuple[OutageRecord, str | None]]:
        """Return the selected outages, newest first, as rows whose JSON is `queries.outage_json` with `windows`.

        Read and selected in a worker thread, and cached (`PageCache`) until the state changes;
        a page's rows are serialised when it is served (`pages.page_body`). *since* is a duration
        (24h) or an ISO time. Raises InputError for a bad *since*, StoreError when the database fails.
        """
        if since is not None:
            parse_since(since, utcnow(), where="since")  # a bad value is a 400 before any work
        key = ("outages", open_only, since, frozenset(units) if units is not None else None, cause, kind)
        ledger = require(self._runtime.pipeline).ledger

        def prepare() -> Callable[[], Rows[tuple[OutageRecord, str | None]]]:
            live = self._runtime.live
            unit_of, windows = live.topology.unit_of, WindowsAt(live.schedule)

            def to_json(chosen: tuple[OutageRecord, str | None]) -> dict[str, Any]:
                record, unit = chosen
                covering = windows.covering(record) if record.cause == "maintenance" else []
                return {**outage_json(record, unit), "windows": covering}

            def compute() -> Rows[tuple[OutageRecord, str | None]]:
                start = parse_since(since, utcnow(), where="since") if since is not None else None
                records = ledger.outages(open_only=open_only, since=start)
                return Rows(select_outages(records, unit_of, units=units, cause=cause, kind=kind), to_json)

            return compute

        return await self.pages.rows(key, self._stamp(), prepare)

    async def add_window(self, window: Window) -> Window:
        """Check a window against the inventory (ConfigError: HTTP 400), store it, apply it from the next round."""
        live = self._runtime.live
        live.schedule.check(window)  # raises before anything is stored
        stored = await asyncio.to_thread(require(self._runtime.windows).add, window)
        live.schedule.add(stored)
        self._window_changes += 1
        return stored

    async def remove_window(self, window_id: int) -> bool:
        """Delete an API window; tell whether there was one."""
        removed = await asyncio.to_thread(require(self._runtime.windows).remove, window_id)
        self._window_changes += 1
        return self._runtime.live.schedule.remove(window_id) or removed

    async def indicator_rows(
        self, *, period: str, level: str | None, units: set[str] | None = None, indicator: str | None = None
    ) -> Rows[IndicatorRow]:
        """Return indicator rows for *period* (live, 2026, 2026-Q3, 2026-09), serialised by `IndicatorRow.to_dict`.

        Computed and selected (`queries.select_indicators`) in a worker thread, and cached
        (`PageCache`) per (period, level, units, indicator) until the state changes; a page's rows
        are serialised when it is served. Live rows are those of the indicator loop
        (`Runtime.live_rows`) while they hold for the current states, and computed here otherwise.
        Raises InputError for an unknown level or indicator, PeriodError for a bad period,
        StoreError when the database fails.
        """
        try:
            chosen = Level(level) if level not in (None, "", "all") else None
        except ValueError:
            raise InputError(f"level: expected one of {', '.join(m.value for m in Level)} or all") from None
        runtime = self._runtime
        if indicator is not None and indicator not in {d.id for d in runtime.catalog}:
            raise InputError(f"indicator: no indicator {indicator[:64]!r}")
        if period != "live":
            parse_period(period, runtime.zone, utcnow())  # a bad period is a 400 before any work
        key = ("indicators", period, chosen, frozenset(units) if units is not None else None, indicator)

        def prepare() -> Callable[[], Rows[IndicatorRow]]:
            live, catalog, zone = runtime.live, runtime.catalog, runtime.zone
            states = live.indicator_states() if period == "live" else {}
            engine = require(runtime.engine) if period != "live" else None
            kept = runtime.live_rows if period == "live" else None
            if kept is not None and not kept.holds(live.inventory, catalog, utcnow().date(), states):
                kept = None  # the states moved since the indicator loop's rows: compute them for these

            def compute() -> Rows[IndicatorRow]:
                if kept is not None:
                    rows = kept.of_level(chosen)
                elif engine is None:
                    rows = live_rows(live.inventory, states, catalog, level=chosen)
                else:
                    now = utcnow()
                    rows = compute_rows(
                        engine, live.inventory, period, level=chosen, zone=zone, now=now, definitions=catalog
                    )
                return Rows(select_indicators(rows, units=units, indicator=indicator), IndicatorRow.to_dict)

            return compute

        return await self.pages.rows(key, self._stamp(), prepare)
