"""The MQTT outbox: messages wait in the database, in order, until the broker acknowledges them.

The recorder writes a batch's messages with `Outbox.add(conn, messages)` inside the transaction
that records the transitions, so either both are stored or neither is: a crash loses nothing.
The publisher reads `pending()` in id order, publishes at QoS 1 and `delete()`s what the broker
acknowledged. A crash between PUBACK and delete sends a message again: delivery is at least
once, and subscribers drop duplicates by the payload's `id`.

Several pollers on one PostgreSQL database (issue 19) share one outbox: `claim()` drains it
one poller at a time. The claim is a transaction holding PostgreSQL's transaction-level advisory
lock `DRAIN_KEY` (a poller that cannot take it at once stands by) and the rows it read
`FOR UPDATE SKIP LOCKED`; the acknowledged rows are deleted in that same transaction (`finish`).
One drainer at a time keeps the global id order, hence the order per object; a drainer that dies
ends its transaction with its connection, and one paused past `CLAIM_IDLE_TIMEOUT` seconds has
it ended by the server (`idle_in_transaction_session_timeout`): nothing is held for ever, and
what it had not deleted is sent again by the next drainer (at least once).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.errors import StoreError
from netmon.inventory.models import metadata
from netmon.inventory.schema import describe, transaction
from netmon.kernel import utc, utcnow
from netmon.sinks.events import OutboxMessage

__all__ = ["CLAIM_IDLE_TIMEOUT", "DRAIN_KEY", "Claim", "Outbox", "PendingMessage"]

_OUTBOX = metadata.tables["mqtt_outbox"]
#: Ids deleted per statement (well below SQLite's variable limit).
_CHUNK = 400
#: The advisory lock key of the outbox drain ("outb" in ASCII), paired with the schema's hash:
#: advisory locks are per database, and each schema (a test, another netmon) has its own outbox.
DRAIN_KEY = 0x6F757462
#: Seconds a claim may sit idle in its transaction before the server ends it (a paused drainer).
CLAIM_IDLE_TIMEOUT = 30.0


@dataclass(frozen=True, kw_only=True)
class PendingMessage:
    """A stored message: `id` is its place in the delivery order."""

    id: int
    message: OutboxMessage
    created_at: datetime


@dataclass(kw_only=True)
class Claim:
    """A batch claimed for publishing: its messages and the open transaction holding them."""

    items: list[PendingMessage]
    conn: Connection
    transaction: sa.Transaction


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
            return [_pending(row) for row in conn.execute(query).mappings()]

    def claim(self, limit: int = 100) -> Claim | None:
        """Claim up to *limit* waiting messages, oldest first, for this drainer alone (PostgreSQL; worker thread).

        Returns None when another poller is draining (it holds `DRAIN_KEY`), or a `Claim` (maybe with
        no items) whose transaction stays open until `finish` or `release`. Raises StoreError.
        """
        try:
            conn = self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"mqtt outbox: {describe(exc)}") from exc
        try:
            txn = conn.begin()
            timeout = f"{int(CLAIM_IDLE_TIMEOUT * 1000)}ms"
            conn.execute(sa.text("SELECT set_config('idle_in_transaction_session_timeout', :t, true)"), {"t": timeout})
            if not conn.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": DRAIN_KEY}
            ).scalar_one():
                txn.rollback()
                conn.close()
                return None
            query = sa.select(_OUTBOX).order_by(_OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True)
            items = [_pending(row) for row in conn.execute(query).mappings()]
        except sa.exc.SQLAlchemyError as exc:
            conn.invalidate()
            conn.close()
            raise StoreError(f"mqtt outbox: {describe(exc)}") from exc
        return Claim(items=items, conn=conn, transaction=txn)

    def finish(self, claim: Claim, ids: Iterable[int]) -> int:
        """Delete the acknowledged *ids* of *claim* and commit it; return how many were deleted. Raises StoreError."""
        wanted = sorted(set(ids))
        deleted = 0
        try:
            for start in range(0, len(wanted), _CHUNK):
                result = claim.conn.execute(sa.delete(_OUTBOX).where(_OUTBOX.c.id.in_(wanted[start : start + _CHUNK])))
                deleted += result.rowcount
            claim.transaction.commit()
        except sa.exc.SQLAlchemyError as exc:
            claim.conn.invalidate()
            raise StoreError(f"mqtt outbox: {describe(exc)}") from exc
        finally:
            claim.conn.close()
        return deleted

    def release(self, claim: Claim) -> None:
        """Give *claim* back without deleting anything (its messages wait for the next drain)."""
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            claim.transaction.rollback()
        claim.conn.close()

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


def _pending(row: sa.RowMapping) -> PendingMessage:
    return PendingMessage(
        id=row["id"],
        message=OutboxMessage(
            event_id=row["event_id"], topic=row["topic"], payload=row["payload"], retain=row["retain"]
        ),
        created_at=utc(row["created_at"]),
    )
