"""Reload (SIGHUP): re-read the config and the inventory, keep every state and open outage still there.

Removed devices and links have their open outages closed as removed. A bad config or inventory
changes nothing. Settings that need a restart (database, HTTP, MQTT, traps, poller, poll intervals) are
reported and kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from netmon.config import Config
from netmon.errors import NetmonError
from netmon.indicators.definitions import catalog_for
from netmon.inventory.store import Store
from netmon.kernel import utcnow
from netmon.loading import check_profiles
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.monitor.rounds import Pollers
from netmon.pollers import registry
from netmon.runtime import Runtime, require

__all__ = ["RESTART_SECTIONS", "Audit", "Reloader"]

#: Records one audited write (`Access.record`): keyword arguments actor, action, target, source.
Audit = Callable[..., Awaitable[None]]

#: Config sections a reload reports and keeps: they need a restart.
RESTART_SECTIONS = ("database", "http", "mqtt", "traps", "poller")


class Reloader:
    """Owns the reload request; `run()` is the `reload` task's body, `reload()` one reload."""

    def __init__(self, runtime: Runtime, load_config: Callable[[], Config] | None) -> None:
        self._runtime = runtime
        self._load_config = load_config
        self._requested = asyncio.Event()
        self._signals: list[str] = []

    def request(self, *, signal: str | None = None) -> None:
        """Ask for a reload; safe to call from a signal handler on the loop.

        *signal* (e.g. `SIGHUP`) names the signal that asked: `run()` audits each such request once,
        as `signal:NAME`. The API audits its own requests and passes no signal.
        """
        if signal is not None:
            self._signals.append(signal)
        self._requested.set()

    async def run(self, audit: Audit | None = None) -> None:
        """Reload whenever asked; a failed reload is logged and the running config and inventory stay.

        Each signal that asked is audited first through *audit* (`Access.record`), once per signal,
        even when several signals are served by one reload; a failed audit is logged and the reload goes on.
        """
        while True:
            await self._requested.wait()
            self._requested.clear()
            signals, self._signals = self._signals, []
            for name in signals:
                await self._audit(audit, name)
            try:
                await self.reload()
            except NetmonError as exc:
                failure = str(exc)
            except Exception as exc:
                self._runtime.log.exception("reload failed; the running config and inventory stay", error=repr(exc))
                continue
            else:
                continue
            self._runtime.log.error("reload failed; the running config and inventory stay", error=failure)

    async def _audit(self, audit: Audit | None, signal: str) -> None:
        if audit is None:
            return
        try:
            await audit(actor=f"signal:{signal}", action="reload", target="config", source="local")
        except NetmonError as exc:  # StoreError: the reload still goes on
            failure = str(exc)
        else:
            return
        self._runtime.log.error("the reload's audit entry could not be written", signal=signal, error=failure)

    async def reload(self) -> None:
        """Re-read the config (if a loader was given) and the inventory; raise NetmonError and change nothing if bad."""
        rt = self._runtime
        config = await asyncio.to_thread(self._load_config) if self._load_config is not None else rt.config
        kept = [
            name
            for name in RESTART_SECTIONS
            if getattr(config, name).model_dump() != getattr(rt.config, name).model_dump()
        ]
        intervals = {c: config.polling.of(c).interval for c in registry.names()}
        if intervals != {c: rt.config.polling.of(c).interval for c in intervals}:
            kept.append("polling intervals")
        inventory = await asyncio.to_thread(Store(require(rt.engine)).snapshot)
        windows = [Window.from_config(c) for c in config.maintenance]
        windows += await asyncio.to_thread(require(rt.windows).active, utcnow())
        schedule = MaintenanceSchedule(inventory, ZoneInfo(config.timezone), windows)  # ConfigError: nothing changes
        catalog = catalog_for(config.indicators)
        check_profiles(config, inventory, "config")  # ConfigError: a profile the inventory uses is gone
        pollers = Pollers(config) if rt.scheduler is not None else None  # built before anything is swapped in
        async with rt.conclude_lock:  # no round is half concluded on the view being replaced
            old = rt.live
            scoped = rt.cluster.scope(inventory) if rt.cluster is not None else inventory
            live = LiveState(config, scoped, schedule)
            removed = live.adopt(old)
            if rt.cluster is not None:  # one poller of several: its part of the inventory (issue 19)
                removed = await rt.cluster.reloaded(live, old, removed)
            rt.config, rt.catalog, rt.live = config, catalog, live
            settled = rt.heap.settle()  # the old view is freed, the new one frozen
        if rt.scheduler is not None and pollers is not None:
            rt.pollers = pollers
            rt.scheduler.replace_pollers(pollers)
        require(rt.pipeline).publish(removed)
        rt.reloads += 1
        rt.log.info(
            "reloaded",
            devices=len(inventory.devices),
            links=len(inventory.links),
            added_devices=len(inventory.devices.keys() - old.inventory.devices.keys()),
            removed=[f"{t.kind}:{t.name}" for t in removed],
            needs_restart=kept or None,
            **settled,
        )
        rt.wake()
