"""The outage ledger on SQLite and PostgreSQL: root outages, replays, restarts, causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from netmon.errors import StoreError
from netmon.inventory.store import Store
from netmon.monitor import outages
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, StateEngine, StateRules, Transition

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = StateRules(down_after=2, up_after=1)
DEPS = {
    ("link", "h01-wan"): [],
    ("device", "h01-r1"): [("link", "h01-wan")],
    ("device", "x01-r1"): [("device", "h01-r1")],
}
ALL = list(DEPS)


def _round(engine: StateEngine, ledger: OutageLedger, minute: int, *, seen: bool) -> None:
    ledger.apply(engine.observe(T0 + timedelta(minutes=minute), dict.fromkeys(ALL, seen)))


def _rows(ledger: OutageLedger) -> list[tuple[str, str, str | None, int, int | None]]:
    """(name, cause, root cause, start minute, end minute) in start order."""

    def minute(ts: datetime) -> int:
        return int((ts - T0).total_seconds() // 60)

    return sorted(
        (o.name, o.cause, o.root_cause, minute(o.started_at), minute(o.ended_at) if o.ended_at else None)
        for o in ledger.outages()
    )


def test_an_uplink_cut_is_one_root_outage_and_closes_on_time(store: Store) -> None:
    engine, ledger = StateEngine(RULES, DEPS), OutageLedger(store.engine)
    _round(engine, ledger, 0, seen=True)
    for minute in (1, 2, 3):
        _round(engine, ledger, minute, seen=False)
    _round(engine, ledger, 4, seen=True)
    assert _rows(ledger) == [
        ("h01-r1", "unreachable", "h01-wan", 1, 4),
        ("h01-wan", "down", None, 1, 4),
        ("x01-r1", "unreachable", "h01-wan", 1, 4),
    ]
    # decided after two lost rounds, but dated from the first: lost from minute 1, back at minute 4
    down = [o for o in ledger.outages() if o.cause == "down"]
    assert [(o.name, o.duration) for o in down] == [("h01-wan", 180.0)]


def test_applying_the_same_transitions_twice_changes_nothing(store: Store) -> None:
    engine, ledger = StateEngine(RULES, DEPS), OutageLedger(store.engine)
    engine.observe(T0, dict.fromkeys(ALL, True))
    engine.observe(T0 + timedelta(minutes=1), dict.fromkeys(ALL, False))
    transitions = engine.observe(T0 + timedelta(minutes=2), dict.fromkeys(ALL, False))
    ledger.apply(transitions)
    ledger.apply(transitions)  # at-least-once delivery after a crash
    assert len(ledger.outages(open_only=True)) == 3


def test_a_restart_mid_outage_continues_it(store: Store) -> None:
    engine, ledger = StateEngine(RULES, DEPS), OutageLedger(store.engine)
    for minute, seen in ((0, True), (1, False), (2, False)):
        _round(engine, ledger, minute, seen=seen)
    # SIGKILL: the engine's memory is gone; a new process restores it from the open outages.
    restarted, ledger = StateEngine(RULES, DEPS), OutageLedger(store.engine)
    state_of = {"down": State.DOWN, "unreachable": State.UNREACHABLE, "maintenance": State.MAINTENANCE}
    for o in ledger.outages(open_only=True):
        restarted.restore((o.kind, o.name), state_of[o.cause], o.started_at, o.root_cause)
    _round(restarted, ledger, 3, seen=False)  # still cut: nothing new
    _round(restarted, ledger, 5, seen=True)  # restored: the original outages close
    assert _rows(ledger) == [
        ("h01-r1", "unreachable", "h01-wan", 1, 5),
        ("h01-wan", "down", None, 1, 5),
        ("x01-r1", "unreachable", "h01-wan", 1, 5),
    ]


def test_a_change_of_cause_closes_one_outage_and_opens_the_next(store: Store) -> None:
    deps: dict[tuple[str, str], list[tuple[str, str]]] = {("device", "r"): []}
    engine, ledger = StateEngine(RULES, deps), OutageLedger(store.engine)
    for minute, seen in ((0, True), (1, False), (2, False)):
        ledger.apply(engine.observe(T0 + timedelta(minutes=minute), {("device", "r"): seen}))
    ledger.apply(engine.observe(T0 + timedelta(minutes=3), {("device", "r"): False}, maintenance={("device", "r")}))
    assert _rows(ledger) == [("r", "down", None, 1, 3), ("r", "maintenance", None, 3, None)]


def test_the_database_refuses_a_second_open_outage(store: Store) -> None:
    row = {"object_kind": "device", "object_name": "r", "cause": "down", "started_at": T0}
    table = sa.table("outages", *(sa.column(c) for c in row))
    with store.engine.begin() as conn:
        conn.execute(sa.insert(table).values(row))
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(sa.insert(table).values(row))
    assert len(OutageLedger(store.engine).outages(open_only=True)) == 1


def test_ledger_errors_are_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="outage ledger"):
        OutageLedger(sa.create_engine(f"sqlite:///{tmp_path}/empty.db")).outages()


@pytest.mark.parametrize("kinds", [1, 3])
def test_a_large_batch_is_recorded_once_and_a_replay_of_it_adds_nothing(store: Store, kinds: int) -> None:
    # the first batch at start has every object; its replay check reads the history by kind and chunks
    ledger = OutageLedger(store.engine)
    names = [(("interface", "device", "link")[i % kinds], f"o{i}") for i in range(1_300)]
    batch = [Transition(kind=k, name=n, old=State.UNKNOWN, new=State.UP, ts=T0, first=True) for k, n in names]
    ledger.apply(batch)
    ledger.apply(batch)  # a replay (the commit's answer was lost)
    later = [
        Transition(kind=k, name=n, old=State.UP, new=State.DOWN, ts=T0 + timedelta(minutes=1)) for k, n in names[:5]
    ]
    ledger.apply(later)
    with store.engine.connect() as conn:
        counted = conn.execute(sa.text("SELECT count(*) FROM state_changes")).scalar()
    assert counted == len(names) + 5


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_statistics_of_the_history_are_refreshed_after_a_burst(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages, "ANALYZE_ROWS", 500)
    ledger = OutageLedger(store.engine)

    def analyzed() -> bool:
        with store.engine.connect() as conn:
            query = "SELECT count(*) FROM pg_stats WHERE tablename = 'state_changes' AND schemaname = current_schema()"
            return bool(conn.execute(sa.text(query)).scalar())

    ledger.apply(
        [Transition(kind="interface", name=f"i{i}", old=State.UNKNOWN, new=State.UP, ts=T0) for i in range(400)]
    )
    assert not analyzed()  # under the threshold: the planner still has the empty table's view
    ledger.apply(
        [Transition(kind="interface", name=f"j{i}", old=State.UNKNOWN, new=State.UP, ts=T0) for i in range(400)]
    )
    assert analyzed()
