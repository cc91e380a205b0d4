"""What netmon tells MQTT subscribers: events and retained state, built from transitions. Pure, no I/O.

Every transition gives one `transition` event. A device or link (not an interface) that enters
DOWN, UNREACHABLE or MAINTENANCE also gives `outage_opened`, and one that leaves it gives
`outage_closed`; a change of cause (down → unreachable) closes one outage and opens the next,
the same rules as `OutageLedger.apply`. Devices and links also get a retained state message.

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

from netmon.kernel import ValueObject
from netmon.monitor.outages import CAUSES, OUTAGE_KINDS
from netmon.monitor.state import State, Transition

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
    root_cause and started_at; `outage_closed` carries cause and ended_at (its start is in the
    matching `outage_opened`). `ts` is when it happened, in UTC.
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


def events_for(transitions: Sequence[Transition]) -> list[Event]:
    """Return the events of *transitions*, in order: each transition, then the outage it closes and opens."""
    return [event for t in transitions for event in _events_of(t)]


def _events_of(t: Transition) -> list[Event]:
    ts = t.ts.astimezone(UTC)
    changed = Event(
        kind="transition",
        ts=ts,
        object_kind=t.kind,
        object_name=t.name,
        old=t.old,
        new=t.new,
        root_cause=t.root_cause,
        flapping=t.flapping,
    )
    events = [changed]
    old_cause, new_cause = CAUSES.get(t.old), CAUSES.get(t.new)
    if t.kind not in OUTAGE_KINDS or old_cause == new_cause:
        return events
    if old_cause is not None:
        events.append(
            Event(kind="outage_closed", ts=ts, object_kind=t.kind, object_name=t.name, cause=old_cause, ended_at=ts)
        )
    if new_cause is not None:
        events.append(
            Event(
                kind="outage_opened",
                ts=ts,
                object_kind=t.kind,
                object_name=t.name,
                cause=new_cause,
                root_cause=t.root_cause,
                started_at=ts,
            )
        )
    return events


def event_topic(prefix: str, kind: str) -> str:
    """Return the topic of events of *kind*."""
    return f"{prefix}/events/{kind}"


def state_topic(prefix: str, object_kind: str, name: str) -> str:
    """Return the retained state topic of a device or link."""
    return f"{prefix}/state/{object_kind}/{name}"


def messages_for(transitions: Sequence[Transition], prefix: str) -> list[OutboxMessage]:
    """Return the outbox messages of *transitions*: their events and, for devices and links, retained state."""
    messages: list[OutboxMessage] = []
    for t in transitions:
        messages += [
            OutboxMessage(event_id=e.id, topic=event_topic(prefix, e.kind), payload=_json(e)) for e in _events_of(t)
        ]
        if t.kind in OUTAGE_KINDS:
            report = StateReport(
                object_kind=t.kind,
                object_name=t.name,
                state=t.new,
                since=t.ts.astimezone(UTC),
                root_cause=t.root_cause,
                flapping=t.flapping,
            )
            topic = state_topic(prefix, t.kind, t.name)
            messages.append(OutboxMessage(event_id=report.id, topic=topic, payload=_json(report), retain=True))
    return messages


def _json(value: ValueObject) -> str:
    return json.dumps(value.to_dict(), ensure_ascii=False, separators=(",", ":"))
