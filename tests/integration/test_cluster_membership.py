"""The membership table, the fence and the shared outbox drain on a real PostgreSQL (issue 19)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from netmon.cluster import membership
from netmon.errors import FencedError
from netmon.inventory import schema
from netmon.inventory.schema import transaction
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition
from netmon.sinks.events import OutboxMessage
from netmon.sinks.outbox import Outbox
from tests.conftest import _pg_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(pg_engine: sa.Engine) -> Iterator[sa.Engine]:
    for url in _pg_url(pg_engine):
        engine = schema.create_engine(url)
        schema.upgrade(engine)
        yield engine
        engine.dispose()


def _down(name: str) -> Transition:
    return Transition(kind="device", name=name, old=State.UP, new=State.DOWN, ts=datetime.now(UTC))


def test_epochs_only_grow_and_a_lapsed_lease_cannot_be_renewed(engine: sa.Engine) -> None:
    first = membership.join(engine, "a", ["central"], lease=30)
    other = membership.join(engine, "b", ["central", "remote"], lease=30)
    again = membership.join(engine, "a", ["central"], lease=30)
    assert first < other < again
    assert {m.name: m.epoch for m in membership.live_members(engine)} == {"a": again, "b": other}
    assert membership.heartbeat(engine, "a", again, lease=30)
    assert not membership.heartbeat(engine, "a", first, lease=30)  # an old epoch is fenced off
    with engine.begin() as conn:  # b's lease lapses (as if paused past failover_delay)
        conn.execute(sa.text("update poller_members set lease_until = clock_timestamp() where name = 'b'"))
    assert not membership.heartbeat(engine, "b", other, lease=30)
    assert [m.name for m in membership.live_members(engine)] == ["a"]
    membership.leave(engine, "a", again)
    assert membership.live_members(engine) == frozenset()
    assert membership.join(engine, "a", ["central"], lease=30) > again  # rows are kept: no epoch is reused


def test_the_fence_refuses_a_lost_lease_and_a_stale_view_and_rolls_back(engine: sa.Engine) -> None:
    epoch = membership.join(engine, "a", ["default"], lease=30)
    view = membership.live_members(engine)
    ledger = OutageLedger(engine)
    ledger.apply([_down("r1")], fence=lambda conn: membership.fence(conn, "a", epoch, view))
    membership.join(engine, "b", ["default"], lease=30)  # the view is now stale
    with pytest.raises(FencedError) as stale:
        ledger.apply([_down("r2")], fence=lambda conn: membership.fence(conn, "a", epoch, view))
    assert not stale.value.lease_lost
    with engine.begin() as conn:
        conn.execute(sa.text("update poller_members set lease_until = clock_timestamp() where name = 'a'"))
    with pytest.raises(FencedError) as lost:
        ledger.apply([_down("r3")], fence=lambda conn: membership.fence(conn, "a", epoch, frozenset()))
    assert lost.value.lease_lost
    assert [o.name for o in ledger.outages(open_only=True)] == ["r1"]  # nothing of the refused writes


def test_one_poller_drains_the_outbox_at_a_time_and_a_dead_one_holds_nothing(engine: sa.Engine) -> None:
    outbox = Outbox(engine)
    outbox.write([OutboxMessage(event_id=f"e{i}", topic="t/x", payload=str(i)) for i in range(5)])
    first = outbox.claim(3)
    assert first is not None
    assert [item.message.payload for item in first.items] == ["0", "1", "2"]
    assert outbox.claim(3) is None  # another poller drains: stand by
    outbox.finish(first, [first.items[0].id])  # 0 acknowledged; 1 and 2 not (a publish failed)
    second = outbox.claim(10)
    assert second is not None
    assert [item.message.payload for item in second.items] == ["1", "2", "3", "4"]  # in order, at least once
    pid = second.conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
    second.conn.invalidate()  # the drainer dies: its connection ends, and so does its claim
    second.conn.close()
    _until_the_backend_is_gone(engine, pid)  # the server ends the backend (and its locks) after the socket
    third = outbox.claim(10)
    assert third is not None
    assert [item.message.payload for item in third.items] == ["1", "2", "3", "4"]
    outbox.release(third)
    assert outbox.count() == 4


def _until_the_backend_is_gone(engine: sa.Engine, pid: int) -> None:
    query = sa.text("select count(*) from pg_stat_activity where pid = :pid")
    for _ in range(200):
        with engine.connect() as conn:
            if not conn.execute(query, {"pid": pid}).scalar_one():
                return
        threading.Event().wait(0.05)  # polling pg_stat_activity, bounded to 10 s
    pytest.fail(f"backend {pid} outlived its closed connection")


def _until_an_advisory_lock_waits(engine: sa.Engine) -> None:
    query = sa.text("select count(*) from pg_locks where locktype = 'advisory' and not granted")
    for _ in range(200):
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        threading.Event().wait(0.05)  # polling pg_locks, bounded to 10 s
    pytest.fail("the join never waited for the membership lock")


def test_a_join_waits_for_fenced_writes_in_flight(engine: sa.Engine) -> None:
    epoch = membership.join(engine, "a", ["default"], lease=30)
    view = membership.live_members(engine)
    joined = threading.Event()
    with transaction(engine, "test") as conn:
        membership.fence(conn, "a", epoch, view)  # holds the membership lock shared

        def join_b() -> None:
            membership.join(engine, "b", ["default"], 30)
            joined.set()

        thread = threading.Thread(target=join_b)
        thread.start()
        _until_an_advisory_lock_waits(engine)
        assert not joined.is_set()  # the join waits for the write in flight
    thread.join(timeout=10)
    assert joined.is_set()
