"""Availability: seconds per state from the state history, and the daily roll-up per device, link and unit.

Accounting rules (docs/availability.md):
- an object is in the state of its latest change at or before an instant; before its first
  change it is UNKNOWN;
- availability = up / (up + down): UNREACHABLE (cut off behind a failed dependency),
  MAINTENANCE and UNKNOWN are counted apart and are in neither term; with up + down = 0 it
  is not applicable (None), never 0 % or 100 %;
- a unit's row sums the seconds of the unit's own devices and links;
- days are local days in the configured time zone; today's row covers midnight to now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.inventory.spec import Inventory
from netmon.kernel import utc

__all__ = ["ROLLED_UP_KINDS", "StateSeconds", "day_bounds", "object_seconds", "read_days", "rollup_day"]

_CHANGES = metadata.tables["state_changes"]
_DAILY = metadata.tables["availability_daily"]

#: Object kinds with availability rows (interfaces have state, not availability).
ROLLED_UP_KINDS = ("device", "link", "service")
#: The kinds a unit's own row sums: its network. Services have their own rows only, so that
#: adding service checks does not change a unit's network availability.
_UNIT_KINDS = frozenset({"device", "link"})

ObjectKey = tuple[str, str]


@dataclass(frozen=True, kw_only=True)
class StateSeconds:
    """Seconds spent in each state over some period."""

    up: float = 0.0
    down: float = 0.0
    unreachable: float = 0.0
    maintenance: float = 0.0
    unknown: float = 0.0

    def __add__(self, other: StateSeconds) -> StateSeconds:
        return StateSeconds(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def total(self) -> float:
        """Return the length of the period covered."""
        return self.up + self.down + self.unreachable + self.maintenance + self.unknown

    @property
    def ratio(self) -> float | None:
        """Return up / (up + down), or None when the object was never up or down in the period."""
        judged = self.up + self.down
        return self.up / judged if judged > 0 else None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC instants where local *day* starts and ends in *zone*."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def object_seconds(
    conn: Connection, start: datetime, end: datetime, kinds: Collection[str] | None = None
) -> dict[ObjectKey, StateSeconds]:
    """Integrate the state history over [start, end) for every object that has any history before *end*.

    *kinds* limits it to those object kinds (default: all). The daily roll-up needs devices, links
    and services; at 10k devices the interfaces' history is 172,000 more rows a day, and reading
    it every 5 minutes held a worker thread (and so the GIL) for 8 s (issue 12).
    """
    if end <= start:
        return {}
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # stored in UTC (SQLite compares wall times)
    of_kinds = _CHANGES.c.object_kind.in_(sorted(kinds)) if kinds is not None else sa.true()
    before = (
        sa.select(_CHANGES.c.object_kind, _CHANGES.c.object_name, sa.func.max(_CHANGES.c.id).label("id"))
        .where(_CHANGES.c.ts <= start, of_kinds)
        .group_by(_CHANGES.c.object_kind, _CHANGES.c.object_name)
        .subquery()
    )
    first = sa.select(_CHANGES.c.object_kind, _CHANGES.c.object_name, _CHANGES.c.state, _CHANGES.c.ts).join(
        before, _CHANGES.c.id == before.c.id
    )
    inside = (
        sa.select(_CHANGES.c.object_kind, _CHANGES.c.object_name, _CHANGES.c.state, _CHANGES.c.ts)
        .where(_CHANGES.c.ts > start, _CHANGES.c.ts < end, of_kinds)
        .order_by(_CHANGES.c.ts, _CHANGES.c.id)
    )
    timeline: dict[ObjectKey, list[tuple[datetime, str]]] = defaultdict(list)
    for kind, name, state, _ts in conn.execute(first):
        timeline[(kind, name)].append((start, state))
    for kind, name, state, ts in conn.execute(inside):
        timeline[(kind, name)].append((utc(ts), state))
    return {key: _integrate(changes, start, end) for key, changes in timeline.items()}


def _integrate(changes: list[tuple[datetime, str]], start: datetime, end: datetime) -> StateSeconds:
    totals: dict[str, float] = defaultdict(float)
    cursor, state = start, "unknown"
    for ts, new in changes:
        totals[state] += (ts - cursor).total_seconds()
        cursor, state = ts, new
    totals[state] += (end - cursor).total_seconds()
    known = {f.name for f in fields(StateSeconds)}
    return StateSeconds(**{k: v for k, v in totals.items() if k in known})


def rollup_day(engine: Engine, inventory: Inventory, day: date, zone: ZoneInfo, now: datetime) -> int:
    """Compute and store the availability rows of local *day* (up to *now* if it is today); return the row count."""
    start, end = day_bounds(day, zone)
    end = min(end, now)
    if end <= start:
        return 0
    with transaction(engine, "availability roll-up") as conn:
        seconds = object_seconds(conn, start, end, kinds=ROLLED_UP_KINDS)
        period = (end - start).total_seconds()
        rows: list[dict[str, object]] = []
        per_unit: dict[str, StateSeconds] = defaultdict(StateSeconds)
        for kind, unit_of in _objects(inventory):
            for name, unit in unit_of.items():
                spent = seconds.get((kind, name), StateSeconds(unknown=period))
                if kind in _UNIT_KINDS:
                    per_unit[unit] = per_unit[unit] + spent
                rows.append(_row(day, kind, name, unit, spent))
        rows.extend(_row(day, "unit", code, code, spent) for code, spent in per_unit.items())
        conn.execute(sa.delete(_DAILY).where(_DAILY.c.day == day))
        if rows:
            conn.execute(sa.insert(_DAILY), rows)
    return len(rows)


def _objects(inventory: Inventory) -> Iterable[tuple[str, Mapping[str, str]]]:
    yield "device", {name: d.unit for name, d in inventory.devices.items() if d.enabled}
    yield "link", {name: link.unit for name, link in inventory.links.items()}
    yield "service", {name: s.unit for name, s in inventory.services.items() if s.enabled}


def _row(day: date, kind: str, name: str, unit: str, spent: StateSeconds) -> dict[str, object]:
    return {
        "day": day,
        "object_kind": kind,
        "object_name": name,
        "unit_code": unit,
        "up_seconds": spent.up,
        "down_seconds": spent.down,
        "unreachable_seconds": spent.unreachable,
        "maintenance_seconds": spent.maintenance,
        "unknown_seconds": spent.unknown,
    }


def read_days(engine: Engine, first: date, last: date, *, kind: str | None = None) -> dict[ObjectKey, StateSeconds]:
    """Sum the stored daily rows from *first* to *last* (inclusive) per object; *kind* filters device/link/unit."""
    query = (
        sa.select(
            _DAILY.c.object_kind,
            _DAILY.c.object_name,
            *(sa.func.sum(_DAILY.c[f"{f.name}_seconds"]) for f in fields(StateSeconds)),
        )
        .where(_DAILY.c.day >= first, _DAILY.c.day <= last)
        .group_by(_DAILY.c.object_kind, _DAILY.c.object_name)
    )
    if kind is not None:
        query = query.where(_DAILY.c.object_kind == kind)
    with transaction(engine, "availability") as conn:
        names = [f.name for f in fields(StateSeconds)]
        return {
            (row[0], row[1]): StateSeconds(**{n: float(v) for n, v in zip(names, row[2:], strict=True)})
            for row in conn.execute(query)
        }
