"""API maintenance windows in the database, so that they survive a restart; the windows of a period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.kernel import utc
from netmon.monitor.maintenance import Window

__all__ = ["WindowStore", "windows_between"]

_WINDOWS = metadata.tables["maintenance_windows"]


class WindowStore:
    """Reads and writes one-off windows made through the API."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, window: Window) -> Window:
        """Store *window*; return it with its id."""
        if window.starts_at is None or window.ends_at is None:
            raise ValueError("API windows are one-off: starts_at and ends_at are required")
        with transaction(self.engine, "maintenance windows") as conn:
            result = conn.execute(
                sa.insert(_WINDOWS).values(
                    name=window.name,
                    objects=",".join(window.objects),
                    starts_at=window.starts_at.astimezone(UTC),
                    ends_at=window.ends_at.astimezone(UTC),
                    reason=window.reason,
                    author=window.author,
                )
            )
            key = result.inserted_primary_key
        return replace(window, id=int(key[0]) if key else None, source="api")

    def remove(self, window_id: int) -> bool:
        """Delete a window; tell whether it existed."""
        with transaction(self.engine, "maintenance windows") as conn:
            return conn.execute(sa.delete(_WINDOWS).where(_WINDOWS.c.id == window_id)).rowcount > 0

    def active(self, now: datetime) -> list[Window]:
        """Return the windows that have not ended by *now*."""
        return self._select(_WINDOWS.c.ends_at > now.astimezone(UTC))

    def overlapping(self, start: datetime, end: datetime) -> list[Window]:
        """Return the windows that cover any instant of [*start*, *end*) (the XLSX evidence of a period)."""
        return self._select(_WINDOWS.c.starts_at < end.astimezone(UTC), _WINDOWS.c.ends_at > start.astimezone(UTC))

    def _select(self, *where: sa.ColumnElement[bool]) -> list[Window]:
        query = sa.select(_WINDOWS).where(*where).order_by(_WINDOWS.c.id)
        with transaction(self.engine, "maintenance windows") as conn:
            return [
                Window(
                    name=row["name"],
                    objects=tuple(row["objects"].split(",")),
                    source="api",
                    id=row["id"],
                    starts_at=utc(row["starts_at"]),
                    ends_at=utc(row["ends_at"]),
                    reason=row["reason"],
                    author=row["author"],
                )
                for row in conn.execute(query).mappings()
            ]


def windows_between(
    configured: Iterable[Window], store: WindowStore, start: datetime, end: datetime, zone: ZoneInfo
) -> list[Window]:
    """Return the config windows, then the API windows, that cover any instant of [*start*, *end*).

    A live period (*start* == *end*) is an instant: the windows that cover it. Blocking (reads the database).
    """
    end = max(end, start + timedelta(microseconds=1))
    chosen = [w for w in configured if w.overlaps(start, end, zone)]
    return chosen + [w for w in store.overlapping(start, end) if w.overlaps(start, end, zone)]
