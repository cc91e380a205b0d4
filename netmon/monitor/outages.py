"""The outage ledger: transitions in, outage rows out; restart-safe by construction.

An object has at most one open outage (a partial unique index). A transition into DOWN,
UNREACHABLE or MAINTENANCE opens one unless an outage with that cause is already open (a
restarted daemon replaying or continuing a round); a change of cause closes the old one and
opens the next at the same instant; a transition to UP (or UNKNOWN) closes it. The state
engine is restored from the open outages at start-up, so it does not begin again from UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.monitor.state import State, Transition
from netmon.pollers.base import ValueObject

__all__ = ["CAUSES", "OutageLedger", "OutageRecord"]

_OUTAGES = metadata.tables["outages"]

#: The outage cause of each failed state.
CAUSES = {State.DOWN: "down", State.UNREACHABLE: "unreachable", State.MAINTENANCE: "maintenance"}


@dataclass(frozen=True, kw_only=True)
class OutageRecord(ValueObject):
    """One outage: what, why, from when, until when (None while open)."""

    id: int
    kind: str
    name: str
    cause: str
    root_cause: str | None
    started_at: datetime
    ended_at: datetime | None

    @property
    def duration(self) -> float | None:
        """Return the outage's length in seconds, or None while it is open."""
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None


class OutageLedger:
    """Reads and writes outages; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apply(self, transitions: Sequence[Transition]) -> None:
        """Open and close outages for *transitions*, in one transaction; applying twice changes nothing."""
        if not transitions:
            return
        with transaction(self.engine, "outage ledger") as conn:
            for t in transitions:
                cause = CAUSES.get(t.new)
                current = _open(conn, t.kind, t.name)
                if current is not None and current.cause == cause:
                    continue  # already recorded: a replay, or the same outage continuing
                if current is not None:
                    conn.execute(
                        sa.update(_OUTAGES)
                        .where(_OUTAGES.c.id == current.id)
                        .values(ended_at=max(t.ts, current.started_at))
                    )
                if cause is not None:
                    conn.execute(
                        sa.insert(_OUTAGES).values(
                            object_kind=t.kind,
                            object_name=t.name,
                            cause=cause,
                            root_cause=t.root_cause,
                            started_at=t.ts,
                        )
                    )

    def outages(self, *, open_only: bool = False, since: datetime | None = None) -> list[OutageRecord]:
        """List outages, newest first; *since* keeps those still open then or started after."""
        query = sa.select(_OUTAGES).order_by(_OUTAGES.c.started_at.desc(), _OUTAGES.c.id.desc())
        if open_only:
            query = query.where(_OUTAGES.c.ended_at.is_(None))
        if since is not None:
            query = query.where(sa.or_(_OUTAGES.c.ended_at.is_(None), _OUTAGES.c.ended_at >= since))
        with transaction(self.engine, "outage ledger") as conn:
            return [_record(row) for row in conn.execute(query).mappings()]


def _open(conn: Connection, kind: str, name: str) -> OutageRecord | None:
    query = sa.select(_OUTAGES).where(
        _OUTAGES.c.object_kind == kind, _OUTAGES.c.object_name == name, _OUTAGES.c.ended_at.is_(None)
    )
    row = conn.execute(query).mappings().first()
    return _record(row) if row is not None else None


def _record(row: sa.RowMapping) -> OutageRecord:
    return OutageRecord(
        id=row["id"],
        kind=row["object_kind"],
        name=row["object_name"],
        cause=row["cause"],
        root_cause=row["root_cause"],
        started_at=_utc(row["started_at"]),
        ended_at=_utc(row["ended_at"]) if row["ended_at"] is not None else None,
    )


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
