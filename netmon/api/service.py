"""The API's application service: what `/readyz`, `/api/v1/...` read and change, over the running daemon.

It implements `netmon.api.http.Backend`; every database call runs in a worker thread. The
HTTP layer (`api/http.py`) keeps the URLs, the JSON shapes and the middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from netmon.errors import InputError
from netmon.indicators.compute import compute, live_rows
from netmon.inventory import schema
from netmon.inventory.health import health_of
from netmon.inventory.models import Level
from netmon.kernel import utcnow
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import Window
from netmon.monitor.outages import OutageRecord
from netmon.runtime import Runtime, require

__all__ = ["DB_PROBE_TIMEOUT", "ApiService"]

#: Longest `/readyz` waits for the database to answer `SELECT 1` (seconds).
DB_PROBE_TIMEOUT = 2.0


class ApiService:
    """The daemon as the HTTP API sees it (`Backend`)."""

    def __init__(self, runtime: Runtime, *, request_reload: Callable[[], None] | None = None) -> None:
        self._runtime = runtime
        self._request_reload = request_reload
        self.registry: CollectorRegistry = runtime.registry  # what `/metrics` renders

    def request_reload(self) -> None:
        """Ask the daemon to re-read its config and inventory (POST /api/v1/reload); ignored when not running."""
        if self._request_reload is not None:
            self._request_reload()

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

    async def outages(self, *, open_only: bool, since: datetime | None) -> list[OutageRecord]:
        """Read outages, newest first (StoreError when the database fails)."""
        ledger = require(self._runtime.pipeline).ledger
        return await asyncio.to_thread(ledger.outages, open_only=open_only, since=since)

    async def add_window(self, window: Window) -> Window:
        """Check a window against the inventory (ConfigError: HTTP 400), store it, apply it from the next round."""
        live = self._runtime.live
        live.schedule.check(window)  # raises before anything is stored
        stored = await asyncio.to_thread(require(self._runtime.windows).add, window)
        live.schedule.add(stored)
        return stored

    async def remove_window(self, window_id: int) -> bool:
        """Delete an API window; tell whether there was one."""
        removed = await asyncio.to_thread(require(self._runtime.windows).remove, window_id)
        return self._runtime.live.schedule.remove(window_id) or removed

    async def indicators(self, period: str, level: str | None) -> list[dict[str, Any]]:
        """Compute indicator rows for *period* (live, 2026, 2026-Q3, 2026-09) in a worker thread.

        Raises InputError for an unknown level, PeriodError for a bad period.
        """
        try:
            chosen = Level(level) if level not in (None, "", "all") else None
        except ValueError:
            raise InputError(f"level: expected one of {', '.join(m.value for m in Level)} or all") from None
        runtime = self._runtime
        live = runtime.live
        if period == "live":
            states = {key: memory.state for key, memory in live.engine.objects.items()}
            rows = await asyncio.to_thread(live_rows, live.inventory, states, runtime.catalog, level=chosen)
        else:
            rows = await asyncio.to_thread(
                compute,
                require(runtime.engine),
                live.inventory,
                period,
                level=chosen,
                zone=runtime.zone,
                now=utcnow(),
                definitions=runtime.catalog,
            )
        return [row.to_dict() for row in rows]
