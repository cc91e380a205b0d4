"""The MQTT outbox: messages wait in the database, in order, until the broker acknowledges them.

The recorder writes a batch's messages with `Outbox.add(conn, messages)` inside the transaction
that records the transitions, so either both are stored or neither is: a crash loses nothing.
The publisher reads `pending()` in id order, publishes at QoS 1 and `delete()`s what the broker
acknowledged. A crash between PUBACK and delete sends a message again: delivery is at least
once, and subscribers drop duplicates by the payload's `id`.

One publisher drains one outbox: two publishers on one table would send messages twice and out
of order (several pollers sharing a PostgreSQL need a poller column or row locks first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.kernel import utc, utcnow
from netmon.sinks.events import OutboxMessage

__all__ = ["Outbox", "PendingMessage"]

_OUTBOX = metadata.tables["mqtt_outbox"]
#: Ids deleted per statement (well below SQLite's variable limit).
_CHUNK = 400


@dataclass(frozen=True, kw_only=True)
class PendingMessage:
    """A stored message: `id` is its place in the delivery order."""

    id: int
    message: OutboxMessage
    created_at: datetime


class Outbox:
    """The `mqtt_outbox` table: add in the caller's transaction, read in order, delete after PUBACK."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, conn: Connection, messages: Sequence[OutboxMessage]) -> None:
        """Queue *messages* in the caller's transaction *conn* (they are pending once it commits)."""
        if not messages:
            return
        now = utcnow().astimezone(UTC)  # SQLite keeps the wall time it is given: store UTC only
        rows = [
            {"event_id": m.event_id, "topic": m.topic, "payload": m.payload, "retain": m.retain, "created_at": now}
            for m in messages
        ]
        conn.execute(sa.insert(_OUTBOX), rows)

    def write(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue *messages* in a transaction of their own."""
        with transaction(self.engine, "mqtt outbox") as conn:
            self.add(conn, messages)

    def pending(self, limit: int = 100) -> list[PendingMessage]:
        """Return up to *limit* waiting messages, oldest first."""
        query = sa.select(_OUTBOX).order_by(_OUTBOX.c.id).limit(limit)
        with transaction(self.engine, "mqtt outbox") as conn:
            return [
                PendingMessage(
                    id=row["id"],
                    message=OutboxMessage(
                        event_id=row["event_id"], topic=row["topic"], payload=row["payload"], retain=row["retain"]
                    ),
                    created_at=utc(row["created_at"]),
                )
                for row in conn.execute(query).mappings()
            ]

    def delete(self, ids: Iterable[int]) -> int:
        """Forget the acknowledged messages *ids*; return how many were deleted."""
        wanted = sorted(set(ids))
        deleted = 0
        with transaction(self.engine, "mqtt outbox") as conn:
            for start in range(0, len(wanted), _CHUNK):
                result = conn.execute(sa.delete(_OUTBOX).where(_OUTBOX.c.id.in_(wanted[start : start + _CHUNK])))
                deleted += result.rowcount
        return deleted

    def count(self) -> int:
        """Return how many messages wait."""
        with transaction(self.engine, "mqtt outbox") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_OUTBOX)).scalar_one())
