"""Maintenance windows: one-off or recurring (daily, weekly) from the config, one-off from the API.

A window names objects as `device:NAME`, `link:NAME` or `unit:CODE`; a unit stands for every
device and link of that unit and of the units below it. Recurring windows are read in the
configured time zone ("at 22:00" is local time). Objects in a window are MAINTENANCE: they are
not alerted and their time is not counted against availability.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from netmon.config import MaintenanceConfig
from netmon.errors import ConfigError, Issue
from netmon.inventory.spec import Inventory
from netmon.inventory.views import units_below
from netmon.kernel import ValueObject
from netmon.monitor.state import ObjectKey

__all__ = ["MaintenanceSchedule", "Window", "resolve"]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, kw_only=True)
class Window(ValueObject):
    """One maintenance window; `id` is set for windows stored through the API."""

    name: str
    objects: tuple[str, ...]
    source: str = "config"
    id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    every: str | None = None
    days: tuple[str, ...] = ()
    at: str | None = None  # HH:MM local time
    duration: float | None = None
    reason: str = ""
    author: str = ""  # who made an API window: "token:NAME" (issue 14); "" for config windows

    @classmethod
    def from_config(cls, cfg: MaintenanceConfig) -> Window:
        """Build a window from its config section."""
        return cls(
            name=cfg.name,
            objects=tuple(cfg.objects),
            starts_at=cfg.start,
            ends_at=cfg.end,
            every=cfg.every,
            days=tuple(cfg.days),
            at=cfg.at.strftime("%H:%M") if cfg.at else None,
            duration=cfg.duration,
            reason=cfg.reason,
        )

    def overlaps(self, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
        """Tell whether the window covers any instant of [*start*, *end*) (a recurring one: any occurrence)."""
        if self.every is None:
            if self.starts_at is None or self.ends_at is None:
                return False
            return self.starts_at < end and start < self.ends_at
        if self.at is None or self.duration is None:
            return False
        at, length = time.fromisoformat(self.at), timedelta(seconds=self.duration)
        day, last = (start - length).astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:  # a period of a year: some 370 days, checked once per export
            begins = datetime.combine(day, at, tzinfo=zone)
            on_day = self.every == "daily" or _WEEKDAYS[day.weekday()] in self.days
            if on_day and begins < end and start < begins + length:
                return True
            day += timedelta(days=1)
        return False

    def active(self, now: datetime, zone: ZoneInfo) -> bool:
        """Tell whether the window covers *now*."""
        if self.every is None:
            return self.starts_at is not None and self.ends_at is not None and self.starts_at <= now < self.ends_at
        if self.at is None or self.duration is None:
            return False
        at = time.fromisoformat(self.at)
        length = timedelta(seconds=self.duration)
        local = now.astimezone(zone)
        for back in range(8):  # an occurrence that began up to a week ago may still run
            day = local.date() - timedelta(days=back)
            start = datetime.combine(day, at, tzinfo=zone)
            if self.every == "weekly" and _WEEKDAYS[day.weekday()] not in self.days:
                continue
            if start <= now < start + length:
                return True
        return False


def resolve(inventory: Inventory, refs: Iterable[str], *, where: str) -> set[ObjectKey]:
    """Map `kind:name` references to state-engine keys; unknown names raise ConfigError naming *where*."""
    keys: set[ObjectKey] = set()
    unknown: list[str] = []
    for ref in refs:
        kind, _, name = ref.partition(":")
        if kind == "device" and name in inventory.devices:
            keys.add(("device", name))
        elif kind == "link" and name in inventory.links:
            keys.add(("link", name))
        elif kind == "service" and name in inventory.services:
            keys.add(("service", name))
        elif kind == "unit" and name in inventory.units:
            codes = units_below(inventory, name) | {name}
            keys.update(("device", n) for n, d in inventory.devices.items() if d.unit in codes)
            keys.update(("link", n) for n, link in inventory.links.items() if link.unit in codes)
            keys.update(("service", n) for n, service in inventory.services.items() if service.unit in codes)
        else:
            unknown.append(ref)
    if unknown:
        message = f"not in the inventory: {', '.join(unknown)}"
        raise ConfigError([Issue(source="maintenance", line=None, where=where, message=message)])
    return keys


class MaintenanceSchedule:
    """The windows in force; resolves them against the inventory once, then answers per round."""

    def __init__(self, inventory: Inventory, zone: ZoneInfo, windows: Iterable[Window] = ()) -> None:
        self._inventory = inventory
        self.zone = zone
        self._windows: dict[str, tuple[Window, frozenset[ObjectKey]]] = {}
        for window in windows:
            self.add(window)

    @staticmethod
    def _key(window: Window) -> str:
        return f"api:{window.id}" if window.id is not None else f"config:{window.name}"

    def check(self, window: Window) -> frozenset[ObjectKey]:
        """Return the objects *window* covers; raise ConfigError if it names unknown objects."""
        return frozenset(resolve(self._inventory, window.objects, where=f"{window.source} window {window.name!r}"))

    def add(self, window: Window) -> None:
        """Add or replace a window; raise ConfigError if it names unknown objects."""
        self._windows[self._key(window)] = (window, self.check(window))

    def remove(self, window_id: int) -> bool:
        """Remove an API window; tell whether it existed."""
        return self._windows.pop(f"api:{window_id}", None) is not None

    def windows(self) -> list[Window]:
        """Return every window, config ones first."""
        return [window for window, _ in self._windows.values()]

    def active_objects(self, now: datetime) -> set[ObjectKey]:
        """Return the objects in a window at *now*."""
        active: set[ObjectKey] = set()
        for window, keys in self._windows.values():
            if window.active(now, self.zone):
                active |= keys
        return active
