"""What netmon tells MQTT subscribers: events and retained state, from what the ledger wrote.

No I/O but `retained_states`, which reads the state history.

Every transition gives one `transition` event, except an object's first judgement
(`Transition.first`: out of UNKNOWN at start, or when a reload adds it, with no state restored):
at 10,000 devices each restart would otherwise publish ~45,000 `unknown→up` events that tell
nothing (issue 12). Its retained state message and its outage events are published as usual,
so a device found down at start still gives `outage_opened`. The outage events come from the outage ledger's
own record of what it wrote (`OutageLedger.apply` returns `Written` items), never from a second
copy of its rules: an outage the ledger closed gives `outage_closed`, one it opened gives
`outage_opened` (a change of cause gives both, closed first), each with the outage's database
`outage_id`. A replay the ledger ignored gives no outage event. Devices and links also get a
retained state message.

Topics (QoS 1): `<prefix>/events/<kind>` and, retained, `<prefix>/state/<device|link>/<name>`.
Payloads are JSON objects with `schema` (the payload version, 1) and a unique `id`: delivery is
at least once, so a subscriber drops a message whose `id` it has already seen.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Engine

from netmon.kernel import ValueObject
from netmon.monitor.outages import OUTAGE_KINDS, OutageLedger, Written
from netmon.monitor.state import State

__all__ = [
    "EVENT_KINDS",
    "SCHEMA",
    "Event",
    "EventKind",
    "OutboxMessage",
    "StateReport",
    "event_topic",
    "events_for",
    "messages_for",
    "retained_states",
    "state_topic",
]

#: The payload version; it changes only when a field changes meaning or goes away.
SCHEMA = 1

EventKind = Literal["transition", "outage_opened", "outage_closed"]
EVENT_KINDS: tuple[EventKind, ...] = ("transition", "outage_opened", "outage_closed")


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event(ValueObject):
    """One thing that happened to a device, link or interface; `id` lets subscribers drop duplicates.

    `transition` carries old, new, root_cause and flapping; `outage_opened` carries cause,
    root_cause, started_at and outage_id; `outage_closed` carries cause, ended_at and outage_id
    (its start is in the matching `outage_opened`). `ts` is when it happened, in UTC.
    """

    schema: int = SCHEMA
    id: str = field(default_factory=_new_id)
    ts: datetime
    kind: EventKind
    object_kind: str
    object_name: str
    old: State | None = None
    new: State | None = None
    root_cause: str | None = None
    flapping: bool = False
    cause: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outage_id: int | None = None  # the outages row (database id) an outage event tells of


@dataclass(frozen=True, kw_only=True)
class StateReport(ValueObject):
    """The current state of a device or link, published retained so that a late subscriber gets it."""

    schema: int = SCHEMA
    id: str = field(default_factory=_new_id)
    object_kind: str
    object_name: str
    state: State
    since: datetime
    root_cause: str | None = None
    flapping: bool = False


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    """One MQTT message as the outbox keeps it: published at QoS 1, in the order it was written."""

    event_id: str
    topic: str
    payload: str
    retain: bool = False


def events_for(written: Sequence[Written]) -> list[Event]:
    """Return the events of what the ledger wrote, in order: each transition, then the outage it closed and opened."""
    return [event for item in written for event in _events_of(item)]


def _events_of(item: Written) -> list[Event]:
    t = item.transition
    ts = t.ts.astimezone(UTC)
    events = (
        []
        if t.first
        else [
            Event(
                kind="transition",
                ts=ts,
                object_kind=t.kind,
                object_name=t.name,
                old=t.old,
                new=t.new,
                root_cause=t.root_cause,
                flapping=t.flapping,
            )
        ]
    )
    if item.closed is not None:
        ended = item.closed.ended_at or ts
        events.append(
            Event(
                kind="outage_closed",
                ts=ended,
                object_kind=t.kind,
                object_name=t.name,
                cause=item.closed.cause,
                ended_at=ended,
                outage_id=item.closed.id,
            )
        )
    if item.opened is not None:
        events.append(
            Event(
                kind="outage_opened",
                ts=item.opened.started_at,
                object_kind=t.kind,
                object_name=t.name,
                cause=item.opened.cause,
                root_cause=item.opened.root_cause,
                started_at=item.opened.started_at,
                outage_id=item.opened.id,
            )
        )
    return events


def event_topic(prefix: str, kind: str) -> str:
    """Return the topic of events of *kind*."""
    return f"{prefix}/events/{kind}"


def state_topic(prefix: str, object_kind: str, name: str) -> str:
    """Return the retained state topic of a device or link."""
    return f"{prefix}/state/{object_kind}/{name}"


def messages_for(written: Sequence[Written], prefix: str) -> list[OutboxMessage]:
    """Return the outbox messages of what the ledger wrote: events and, for devices and links, retained state."""
    messages: list[OutboxMessage] = []
    for item in written:
        t = item.transition
        messages += [
            OutboxMessage(event_id=e.id, topic=event_topic(prefix, e.kind), payload=_json(e)) for e in _events_of(item)
        ]
        if t.kind in OUTAGE_KINDS:
            messages.append(
                _retained(prefix, t.kind, t.name, state=t.new, since=t.ts, root_cause=t.root_cause, flapping=t.flapping)
            )
    return messages


def retained_states(engine: Engine, prefix: str) -> list[OutboxMessage]:
    """Return the retained state message of every device and link, from its last recorded state.

    Objects last recorded as `removed` are left out. Reads the database (call it in a worker thread).

    Raises:
        StoreError: the state history cannot be read.
    """
    messages = []
    for row in OutageLedger(engine).last_states():
        if row.kind not in OUTAGE_KINDS or row.state is State.REMOVED:
            continue
        messages.append(
            _retained(
                prefix,
                row.kind,
                row.name,
                state=row.state,
                since=row.since,
                root_cause=row.root_cause,
                flapping=row.flapping,
            )
        )
    return messages


def _retained(
    prefix: str, kind: str, name: str, *, state: State, since: datetime, root_cause: str | None, flapping: bool
) -> OutboxMessage:
    """Return the retained state message of one device, link or service."""
    report = StateReport(
        object_kind=kind, object_name=name, state=state, since=since.astimezone(UTC), root_cause=root_cause,
        flapping=flapping,
    )  # fmt: skip
    topic = state_topic(prefix, kind, name)
    return OutboxMessage(event_id=report.id, topic=topic, payload=_json(report), retain=True)


def _json(value: ValueObject) -> str:
    return json.dumps(value.to_dict(), ensure_ascii=False, separators=(",", ":"))
