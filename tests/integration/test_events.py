"""events_for and messages_for as tables: a transition through the real outage ledger in, its events out.

The outage events come from what the ledger wrote (`Written`), so each case runs on SQLite and
PostgreSQL: the object is first put in its old state, then the transition is applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from netmon.inventory import schema
from netmon.monitor.outages import OutageLedger, Written
from netmon.monitor.state import State, Transition
from netmon.sinks.events import SCHEMA, Event, events_for, messages_for

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
U, D, X, M, K = State.UP, State.DOWN, State.UNREACHABLE, State.MAINTENANCE, State.UNKNOWN


def _t(
    kind: str, old: State, new: State, root_cause: str | None = None, *, flapping: bool = False, first: bool = False
) -> Transition:
    return Transition(
        kind=kind, name="r1", old=old, new=new, ts=T0, root_cause=root_cause, flapping=flapping, first=first
    )


@pytest.fixture
def ledger(db_url: str) -> Iterator[OutageLedger]:
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    yield OutageLedger(engine)
    engine.dispose()


Write = Callable[[list[Transition]], list[Written]]


@pytest.fixture
def write(ledger: OutageLedger) -> Write:
    """Apply transitions, each object first put in its old state a minute before (as the engine had it)."""

    def apply(batch: list[Transition]) -> list[Written]:
        before: list[Transition] = [
            Transition(kind=t.kind, name=t.name, old=K, new=t.old, ts=t.ts - timedelta(minutes=1), root_cause="core")
            for t in batch
            if t.old is not K
        ]
        ledger.apply(before)
        return ledger.apply(batch)

    return apply


def _render(e: Event) -> str:
    if e.kind == "transition":
        text = f"transition {e.old}→{e.new}"
    elif e.kind == "outage_opened":
        text = f"opened {e.cause}"
    else:
        text = f"closed {e.cause}"
    text += f" ({e.root_cause})" if e.root_cause else ""
    return text + (" flapping" if e.flapping else "")


CASES = [
    pytest.param(_t("device", K, U), ["transition unknown→up"], id="unknown-up"),
    pytest.param(_t("device", K, U, first=True), [], id="first-judgement-up-no-event"),
    pytest.param(_t("device", K, D, first=True), ["opened down"], id="first-judgement-down-opens"),
    pytest.param(_t("interface", K, U, first=True), [], id="first-judgement-interface"),
    pytest.param(_t("device", U, D), ["transition up→down", "opened down"], id="up-down-opens"),
    pytest.param(_t("device", K, D), ["transition unknown→down", "opened down"], id="unknown-down-opens"),
    pytest.param(_t("device", D, U), ["transition down→up", "closed down"], id="down-up-closes"),
    pytest.param(
        _t("device", U, X, "core"), ["transition up→unreachable (core)", "opened unreachable (core)"], id="unreachable"
    ),
    pytest.param(
        _t("device", X, D),
        ["transition unreachable→down", "closed unreachable", "opened down"],
        id="change-of-cause-closes-then-opens",
    ),
    pytest.param(
        _t("device", D, X, "core"),
        ["transition down→unreachable (core)", "closed down", "opened unreachable (core)"],
        id="down-to-unreachable",
    ),
    pytest.param(_t("link", U, M), ["transition up→maintenance", "opened maintenance"], id="link-maintenance-opens"),
    pytest.param(_t("link", M, K), ["transition maintenance→unknown", "closed maintenance"], id="maintenance-ends"),
    pytest.param(_t("device", D, K), ["transition down→unknown", "closed down"], id="down-to-unknown-closes"),
    pytest.param(_t("interface", U, D), ["transition up→down"], id="interface-no-outage"),
    pytest.param(_t("interface", D, U), ["transition down→up"], id="interface-back-no-outage"),
    pytest.param(
        _t("device", U, D, flapping=True), ["transition up→down flapping", "opened down"], id="flapping-flag-kept"
    ),
]


@pytest.mark.parametrize(("transition", "expected"), CASES)
def test_events_for(write: Write, transition: Transition, expected: list[str]) -> None:
    events = events_for(write([transition]))
    assert [_render(e) for e in events] == expected
    assert all(e.ts == T0 and e.object_kind == transition.kind and e.object_name == "r1" for e in events)
    assert all(e.schema == SCHEMA for e in events)


def test_outage_events_carry_their_dates_and_row(write: Write, ledger: OutageLedger) -> None:
    opened = events_for(write([_t("device", U, D)]))[1]
    closed = events_for(write([Transition(kind="device", name="r1", old=D, new=U, ts=T0 + timedelta(minutes=5))]))[1]
    assert (opened.started_at, opened.ended_at) == (T0, None)
    assert (closed.started_at, closed.ended_at) == (None, T0 + timedelta(minutes=5))  # its start: in outage_opened
    (row,) = ledger.outages()
    assert opened.outage_id == closed.outage_id == row.id


def test_a_replay_gives_no_second_outage_event(write: Write, ledger: OutageLedger) -> None:
    assert [_render(e) for e in events_for(write([_t("device", U, D)]))] == ["transition up→down", "opened down"]
    assert [_render(e) for e in events_for(ledger.apply([_t("device", U, D)]))] == ["transition up→down"]


def test_events_keep_the_batch_order_and_have_unique_ids(write: Write) -> None:
    batch = [_t("device", U, D), _t("interface", U, D), _t("link", D, U)]
    events = events_for(write(batch))
    assert [(e.object_kind, e.kind) for e in events] == [
        ("device", "transition"),
        ("device", "outage_opened"),
        ("interface", "transition"),
        ("link", "transition"),
        ("link", "outage_closed"),
    ]
    assert len({e.id for e in events}) == len(events)
    assert events_for([]) == []


def test_timestamps_are_utc() -> None:
    local = T0.astimezone(timezone(timedelta(hours=7)))
    (event,) = events_for([Written(transition=Transition(kind="interface", name="ge0", old=U, new=D, ts=local))])
    assert event.ts.utcoffset() == timedelta(0)
    assert event.ts == T0


def test_event_round_trips_through_json(write: Write) -> None:
    for event in events_for(write([_t("device", X, D, "core")])):
        assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_messages_for_topics_order_and_retained_state(write: Write) -> None:
    batch = [_t("device", U, X, "core"), _t("interface", U, D)]
    messages = messages_for(write(batch), "nm")
    assert [(m.topic, m.retain) for m in messages] == [
        ("nm/events/transition", False),
        ("nm/events/outage_opened", False),
        ("nm/state/device/r1", True),
        ("nm/events/transition", False),
    ]
    state = json.loads(messages[2].payload)
    assert state == {
        "schema": SCHEMA,
        "id": messages[2].event_id,
        "object_kind": "device",
        "object_name": "r1",
        "state": "unreachable",
        "since": T0.isoformat(),
        "root_cause": "core",
        "flapping": False,
    }
    payloads = [json.loads(m.payload) for m in messages]
    assert [p["id"] for p in payloads] == [m.event_id for m in messages]
    assert len({m.event_id for m in messages}) == len(messages)


def test_vietnamese_names_stay_readable() -> None:
    written = [Written(transition=Transition(kind="interface", name="Sở-TTTT", old=U, new=D, ts=T0))]
    (message,) = messages_for(written, "nm")
    assert "Sở-TTTT" in message.payload
