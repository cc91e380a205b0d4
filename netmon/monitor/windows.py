"""API maintenance windows in the database, so that they survive a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.kernel import utc
from netmon.monitor.maintenance import Window

__all__ = ["WindowStore"]

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
        query = sa.select(_WINDOWS).where(_WINDOWS.c.ends_at > now.astimezone(UTC)).order_by(_WINDOWS.c.id)
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
