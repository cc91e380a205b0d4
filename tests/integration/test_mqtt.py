"""The MQTT publisher against real Mosquitto brokers: the shared one on 1883, and brokers of the tests' own."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from netmon.config import MqttConfig
from netmon.inventory import schema
from netmon.monitor.outages import OutageLedger, Written
from netmon.monitor.state import State, Transition
from netmon.sinks.events import OutboxMessage, events_for, messages_for
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.outbox import Outbox
from tests.monitoring import RecordingLog
from tests.mqtt import Broker, clear_retained, eventually, subscribed

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
U, D, X, M, K = State.UP, State.DOWN, State.UNREACHABLE, State.MAINTENANCE, State.UNKNOWN
PASSWORD = "s3cret-mqtt-Passw0rd"  # noqa: S105 (a test broker's password)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = schema.create_engine(f"sqlite:///{tmp_path}/netmon.db")
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def prefix() -> str:
    return f"netmon-test-{uuid.uuid4().hex[:12]}"


def _config(prefix: str, port: int = 1883, **more: Any) -> MqttConfig:
    return MqttConfig.model_validate({"host": "127.0.0.1", "port": port, "topic_prefix": prefix, **more})


def _fast(config: MqttConfig, engine: sa.Engine, log: Any = None) -> MqttPublisher:
    return MqttPublisher(config, engine, log=log or RecordingLog(), backoff=(0.05, 0.5), timeout=2.0)


def _transitions(names: list[str], old: State, new: State, kind: str = "device", minute: int = 0) -> list[Transition]:
    ts = T0 + timedelta(minutes=minute)
    return [Transition(kind=kind, name=name, old=old, new=new, ts=ts) for name in names]


async def _record(
    publisher: MqttPublisher,
    outbox: Outbox,
    batch: list[Transition],
    *,
    events_only: bool = False,
    written: list[Written] | None = None,
) -> list[str]:
    """Do what the pipeline does: the ledger writes the batch and its messages in one transaction; wake the publisher.

    Return the ids written (only the events' with *events_only*); extend *written* with what the ledger wrote.
    """
    messages: list[OutboxMessage] = []

    def also(conn: sa.Connection, items: list[Written]) -> None:
        messages.extend(messages_for(items, publisher.config.topic_prefix))
        outbox.add(conn, messages)

    done = await asyncio.to_thread(OutageLedger(outbox.engine).apply, batch, also=also)
    if written is not None:
        written.extend(done)
    publisher.wake()
    return [m.event_id for m in messages if not (events_only and m.retain)]


async def test_mqtt_subscriber_gets_exactly_one_event_per_transition(engine: sa.Engine, prefix: str) -> None:
    outbox = Outbox(engine)
    first = _transitions(["r1", "r2"], K, U) + _transitions(["r1"], U, D, minute=1)
    first += _transitions(["ge-0/0/1"], U, D, kind="interface", minute=1)
    first += _transitions(["wan-1"], U, X, kind="link", minute=2)
    sentinel = _transitions(["r2"], U, M, minute=3)
    written: list[Written] = []
    async with subscribed(f"{prefix}/events/#") as sub, _fast(_config(prefix), engine) as publisher:
        await _record(publisher, outbox, first, written=written)
        await _record(publisher, outbox, sentinel, written=written)
        # messages keep their order: once the sentinel's events arrived, any duplicate would have too
        await sub.until(
            lambda got: any(m.payload["object_name"] == "r2" and m.payload["new"] == "maintenance" for m in got)
        )
        await sub.until(lambda got: sum(m.payload["kind"] == "outage_opened" for m in got) == 3)
    received = sub.messages
    transitions = [m.payload for m in received if m.topic == f"{prefix}/events/transition"]
    assert [(p["object_kind"], p["object_name"], p["old"], p["new"]) for p in transitions] == [
        (t.kind, t.name, t.old.value, t.new.value) for t in first + sentinel
    ]
    expected = [(e.kind, e.object_name) for e in events_for(written)]
    assert [(m.payload["kind"], m.payload["object_name"]) for m in received] == expected
    assert all(m.topic == f"{prefix}/events/{m.payload['kind']}" and not m.retain for m in received)
    assert len(set(sub.ids())) == len(received)
    assert all(m.payload["schema"] == 1 for m in received)
    assert publisher.published == len(messages_for(written, prefix))
    assert publisher.pending_estimate == 0
    assert await asyncio.to_thread(outbox.count) == 0
    await clear_retained([f"{prefix}/state/device/{n}" for n in ("r1", "r2")] + [f"{prefix}/state/link/wan-1"])


def _opened(payload: dict[str, Any], name: str) -> bool:
    return bool(payload.get("kind") == "outage_opened" and payload["object_name"] == name)


async def test_mqtt_first_judgement_at_start_gives_retained_state_and_outages_but_no_transition_events(
    engine: sa.Engine, prefix: str
) -> None:
    """Issue 12: a restart publishes no unknown→up flood; a device found down still opens a published outage."""
    outbox = Outbox(engine)
    start = [Transition(kind="device", name=f"r{i}", old=K, new=U, ts=T0, first=True) for i in range(3)]
    start += [Transition(kind="device", name="r9", old=K, new=D, ts=T0, first=True)]
    start += [Transition(kind="interface", name="r0:ge0", old=K, new=U, ts=T0, first=True)]
    later = _transitions(["r0"], U, D, minute=1)  # a real change afterwards is an event as always
    topics = [f"{prefix}/state/device/r{i}" for i in (0, 1, 2, 9)]
    try:
        async with subscribed(f"{prefix}/#") as sub, _fast(_config(prefix), engine) as publisher:
            await _record(publisher, outbox, start)
            await _record(publisher, outbox, later)
            await sub.until(lambda got: any(_opened(m.payload, "r0") for m in got))
        events = [(m.payload["kind"], m.payload["object_name"]) for m in sub.messages if "/events/" in m.topic]
        assert events == [("outage_opened", "r9"), ("transition", "r0"), ("outage_opened", "r0")]
        retained = {m.topic: m.payload["state"] for m in sub.messages if "/state/" in m.topic}
        assert retained == {topics[0]: "down", topics[1]: "up", topics[2]: "up", topics[3]: "down"}
    finally:
        await clear_retained(topics)


async def test_mqtt_retained_state_for_a_late_subscriber(engine: sa.Engine, prefix: str) -> None:
    outbox = Outbox(engine)
    history = [
        _transitions(["a", "b"], K, U),
        _transitions(["a"], U, D, minute=1),
        _transitions(["b"], U, X, minute=1),
        _transitions(["a"], D, U, minute=2),
        _transitions(["wan-1"], K, M, kind="link", minute=2),
        _transitions(["ge-0/0/1"], U, D, kind="interface", minute=2),  # interfaces have no retained state
    ]
    history[2] = [Transition(kind="device", name="b", old=U, new=X, ts=T0 + timedelta(minutes=1), root_cause="a")]
    topics = [f"{prefix}/state/device/a", f"{prefix}/state/device/b", f"{prefix}/state/link/wan-1"]
    written: list[Written] = []
    try:
        async with _fast(_config(prefix), engine) as publisher:
            for batch in history:
                await _record(publisher, outbox, batch, written=written)
            await eventually(lambda: outbox.count() == 0, what="drained")
        assert publisher.published == len(messages_for(written, prefix))
        async with subscribed(f"{prefix}/state/#") as late:
            await late.until(lambda got: {m.topic for m in got} == set(topics))
        states = {m.topic: m.payload for m in late.messages}
        assert all(m.retain for m in late.messages)
        assert len(late.messages) == 3  # one retained message per object: the latest
        a, b, wan = (states[t] for t in topics)
        assert (a["state"], a["since"], a["root_cause"]) == ("up", (T0 + timedelta(minutes=2)).isoformat(), None)
        assert (b["state"], b["root_cause"], b["object_kind"], b["object_name"]) == ("unreachable", "a", "device", "b")
        assert (wan["state"], wan["object_kind"], wan["schema"]) == ("maintenance", "link", 1)
        assert all(set(p) >= {"schema", "id", "state", "since", "root_cause", "flapping"} for p in states.values())
    finally:
        await clear_retained(topics)


async def test_mqtt_broker_outage_loses_nothing_and_keeps_order(engine: sa.Engine, prefix: str, tmp_path: Path) -> None:
    # persistence keeps the *subscriber's* session across the restart, so that what netmon sends
    # while the subscriber is reconnecting waits for it; netmon's own client uses clean sessions:
    # everything it sends after the restart comes from its outbox.
    broker = Broker(tmp_path, persistence=True)
    outbox = Outbox(engine)
    await broker.start()
    try:
        async with (
            subscribed(f"{prefix}/events/#", port=broker.port, identifier=f"sub-{prefix}", persistent=True) as sub,
            _fast(_config(prefix, broker.port), engine) as publisher,
        ):
            events = await _record(publisher, outbox, _transitions([f"d{i}" for i in range(5)], K, U), events_only=True)
            await sub.until(lambda got: len(got) >= 5)
            assert publisher.connected

            await broker.stop()
            for minute in range(1, 4):  # three batches written while the broker is away: they wait
                old, new = (U, D) if minute % 2 else (D, U)  # each opens or closes five outages
                batch = _transitions([f"d{i}" for i in range(5)], old, new, minute=minute)
                events += await _record(publisher, outbox, batch, events_only=True)
            await eventually(lambda: publisher.reconnects >= 1 and not publisher.connected, what="outage noticed")
            assert await asyncio.to_thread(outbox.count) == 3 * 15  # 5 transitions, 5 outages, 5 states each

            await broker.start()
            await eventually(lambda: outbox.count() == 0, what="outbox drained", within=20)
            await sub.until(lambda got: set(events) <= {m.payload["id"] for m in got}, within=20)
    finally:
        await broker.stop()
    received = [m.payload["id"] for m in sub.messages]
    first_seen = list(dict.fromkeys(received))
    assert first_seen == events  # every event, in the order written
    assert set(received) == set(events)
    assert publisher.reconnects >= 1
    assert sub.connections >= 2


async def test_mqtt_stop_makes_a_last_drain(engine: sa.Engine, prefix: str) -> None:
    outbox = Outbox(engine)
    async with subscribed(f"{prefix}/events/#") as sub:
        publisher = _fast(_config(prefix), engine)
        async with publisher:
            ids = await _record(publisher, outbox, _transitions(["x"], U, X, kind="interface"))
        await sub.until(lambda got: [m.payload["id"] for m in got] == ids)
    assert await asyncio.to_thread(outbox.count) == 0
    assert not publisher.connected


async def test_mqtt_stop_is_bounded_when_the_broker_is_gone(engine: sa.Engine, prefix: str, tmp_path: Path) -> None:
    broker = Broker(tmp_path)  # never started: nothing listens on its port
    publisher = MqttPublisher(_config(prefix, broker.port), engine, log=RecordingLog(), stop_timeout=1.0)
    async with asyncio.timeout(5):
        async with publisher:
            await _record(publisher, Outbox(engine), _transitions(["x"], U, D, kind="interface"))
            await eventually(lambda: publisher.reconnects >= 1)
    assert await asyncio.to_thread(Outbox(engine).count) == 1  # it waits for the next start


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(path), "netmon", PASSWORD], check=True)
    path.chmod(0o600)
    return path


@pytest.fixture
async def password_broker(tmp_path: Path, password_file: Path) -> AsyncIterator[Broker]:
    broker = Broker(tmp_path, password_file=password_file)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def test_mqtt_password_never_logged(
    engine: sa.Engine, prefix: str, password_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # paho's and aiomqtt's own logging too
    outbox = Outbox(engine)
    wrong = _config(prefix, password_broker.port, username="netmon", password="not-" + PASSWORD)
    log = RecordingLog()
    async with _fast(wrong, engine, log) as refused:
        await _record(refused, outbox, _transitions(["x"], U, D, kind="interface"))
        await eventually(lambda: refused.reconnects >= 2)
    assert not refused.published
    assert any(level == "warning" and "reconnecting" in event for level, event, _ in log.lines)
    right = _config(prefix, password_broker.port, username="netmon", password=PASSWORD)
    async with (
        subscribed(f"{prefix}/events/#", port=password_broker.port, credentials=("netmon", PASSWORD)) as sub,
        _fast(right, engine, log) as publisher,
    ):
        await sub.until(lambda got: len(got) == 1)
    assert publisher.published == 1
    for text in [repr(refused), repr(publisher), repr(right), str(right), repr(log.lines), caplog.text]:
        assert PASSWORD not in text
    assert "***" in repr(publisher)
    assert repr(publisher).startswith(f"MqttPublisher(127.0.0.1:{password_broker.port}, username='netmon'")


async def test_mqtt_disabled_starts_nothing(engine: sa.Engine, prefix: str) -> None:
    async with MqttPublisher(_config(prefix, enabled=False), engine) as publisher:
        publisher.wake()
    assert (publisher.published, publisher.connected, publisher.reconnects) == (0, False, 0)
