"""The MQTT outbox on SQLite and PostgreSQL: written in the caller's transaction, read in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from netmon.inventory import schema
from netmon.inventory.models import metadata
from netmon.monitor.outages import Written
from netmon.monitor.state import State, Transition
from netmon.sinks.events import OutboxMessage, messages_for
from netmon.sinks.outbox import Outbox

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def outbox(db_url: str) -> Iterator[Outbox]:
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    yield Outbox(engine)
    engine.dispose()


def _messages(count: int, start: int = 0) -> list[OutboxMessage]:
    return [
        OutboxMessage(event_id=f"{i:032x}", topic=f"t/events/{i}", payload=f'{{"n":{i}}}', retain=i % 2 == 0)
        for i in range(start, start + count)
    ]


class _RollbackError(Exception):
    pass


def _write_then_fail(outbox: Outbox) -> None:
    with outbox.engine.begin() as conn:
        changes = metadata.tables["state_changes"]
        conn.execute(
            sa.insert(changes).values(object_kind="device", object_name="r1", state="down", flapping=False, ts=T0)
        )
        outbox.add(conn, _messages(3))
        raise _RollbackError


def test_outbox_rolled_back_with_the_callers_transaction(outbox: Outbox) -> None:
    with pytest.raises(_RollbackError):
        _write_then_fail(outbox)
    assert outbox.pending() == []
    assert outbox.count() == 0
    with outbox.engine.connect() as conn:  # the caller's own write went with it
        assert conn.execute(sa.text("SELECT count(*) FROM state_changes")).scalar_one() == 0


def test_outbox_pending_once_the_callers_transaction_commits(outbox: Outbox) -> None:
    with outbox.engine.begin() as conn:
        outbox.add(conn, _messages(3))
    pending = outbox.pending()
    assert [p.message for p in pending] == _messages(3)
    assert all(p.created_at.tzinfo is not None for p in pending)


def test_outbox_order_limit_and_delete(outbox: Outbox) -> None:
    outbox.write(_messages(5))
    outbox.write(_messages(5, start=5))
    first = outbox.pending(limit=4)
    assert [p.message.event_id for p in first] == [f"{i:032x}" for i in range(4)]
    assert [p.id for p in first] == sorted(p.id for p in first)
    assert outbox.delete(p.id for p in first) == 4
    assert outbox.delete([first[0].id]) == 0  # already gone: nothing happens
    rest = outbox.pending()
    assert [p.message.event_id for p in rest] == [f"{i:032x}" for i in range(4, 10)]
    assert outbox.count() == 6
    outbox.write(_messages(1, start=10))
    assert outbox.pending()[-1].id > rest[-1].id  # new messages come last


def test_outbox_keeps_transition_messages(outbox: Outbox) -> None:
    batch = [Transition(kind="device", name="Sở-1", old=State.UP, new=State.DOWN, ts=T0)]
    messages = messages_for([Written(transition=t) for t in batch], "nm")
    with outbox.engine.begin() as conn:
        outbox.add(conn, messages)
    assert [p.message for p in outbox.pending()] == messages
