"""The transition pipeline on SQLite and PostgreSQL: poison items isolated, and MQTT outage events = outage rows."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from netmon.config import MqttConfig
from netmon.inventory import schema
from netmon.inventory.models import metadata
from netmon.kernel import TRUNCATED
from netmon.monitor.pipeline import TransitionPipeline
from netmon.monitor.state import State, StateEngine, StateRules, Transition
from netmon.monitor.topology import interface_key
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.prometheus import Instruments
from tests.monitoring import RecordingLog
from tests.mqtt import clear_retained, subscribed

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
K, U, D = State.UNKNOWN, State.UP, State.DOWN


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@asynccontextmanager
async def _running(pipeline: TransitionPipeline) -> AsyncIterator[TransitionPipeline]:
    task = asyncio.create_task(pipeline.run(), name="recorder-under-test")
    try:
        yield pipeline
    finally:
        await pipeline.stop(task, 15.0)
        assert task.done()
        assert not task.cancelled()  # every batch was written before the stop


def _t(kind: str, name: str, old: State, new: State, minute: int = 0) -> Transition:
    return Transition(kind=kind, name=name, old=old, new=new, ts=T0 + timedelta(minutes=minute))


def _rows(engine: sa.Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(metadata.tables[table])).mappings()]


POISON = [
    pytest.param("sw1:Gi0/1\x00", "a NUL byte", id="nul-byte"),
    pytest.param("d" * 64 + ":" + "x" * 255, "320 characters (at most 255)", id="over-long-key"),
]


@pytest.mark.parametrize(("bad_name", "problem"), POISON)
async def test_a_poison_transition_is_isolated_counted_and_kept(engine: sa.Engine, bad_name: str, problem: str) -> None:
    registry, log = CollectorRegistry(), RecordingLog()
    pipeline = TransitionPipeline(engine, prefix="nm", instruments=Instruments.register(registry), log=log)
    async with _running(pipeline):
        pipeline.publish([_t("device", "r1", U, D), _t("interface", bad_name, U, D), _t("link", "wan", U, D)])
        pipeline.publish([_t("device", "r2", U, D, minute=1)])  # a later batch
    assert pipeline.flushed  # the stop wrote every batch
    assert pipeline.poisoned == 1
    assert registry.get_sample_value("netmon_pipeline_poison_items_total", {"what": "transition"}) == 1
    # the rest of the batch and the later batch landed, with their MQTT messages
    assert sorted((o["object_name"], o["cause"]) for o in _rows(engine, "outages")) == [
        ("r1", "down"), ("r2", "down"), ("wan", "down"),
    ]  # fmt: skip
    assert sorted(c["object_name"] for c in _rows(engine, "state_changes")) == ["r1", "r2", "wan"]
    topics = [json.loads(m["payload"]).get("object_name") for m in _rows(engine, "mqtt_outbox")]
    assert set(topics) == {"r1", "r2", "wan"}
    (kept,) = _rows(engine, "poison")
    assert (kept["what"], kept["object_kind"]) == ("transition", "interface")
    assert problem in kept["error"]
    assert json.loads(kept["payload"])["name"] == bad_name  # kept whole for inspection
    assert "\x00" not in kept["object_name"]
    assert len(kept["object_name"]) <= 255
    errors = [(event, fields) for level, event, fields in log.lines if level == "error"]
    assert [(event, fields["kind"]) for event, fields in errors] == [
        ("transition cannot be stored; set aside in the poison table", "interface")
    ]


def test_the_edge_makes_interface_keys_storable() -> None:
    long_name, nul_name = "x" * 255, "Gi0/1\x00"
    kind, name = interface_key("d" * 64, long_name)
    assert (kind, len(name), TRUNCATED in name) == ("interface", 255, True)
    assert interface_key("d" * 64, long_name + "y") != interface_key("d" * 64, long_name + "z")  # still two keys
    assert interface_key("sw1", nul_name) == ("interface", "sw1:Gi0/1")


async def test_edge_keys_are_stored_on_both_databases(engine: sa.Engine) -> None:
    pipeline = TransitionPipeline(
        engine, prefix="nm", instruments=Instruments.register(CollectorRegistry()), log=RecordingLog()
    )
    names = [interface_key("d" * 64, "x" * 255)[1], interface_key("sw1", "Gi0/1\x00")[1]]
    async with _running(pipeline):
        pipeline.publish([_t("interface", name, U, D) for name in names])
    assert pipeline.poisoned == 0
    assert sorted(c["object_name"] for c in _rows(engine, "state_changes")) == sorted(names)


# ---- the MQTT outage events are what the ledger wrote ---------------------------------------------

DEPS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("link", "h01-wan"): [],
    ("device", "h01-r1"): [("link", "h01-wan")],
    ("device", "x01-r1"): [("device", "h01-r1")],
    ("device", "stc-sw1"): [],
}
#: Minute by minute: which objects answer (the rest do not), and which are in maintenance.
SCENARIO: list[tuple[set[str], set[str]]] = [
    ({"h01-wan", "h01-r1", "x01-r1", "stc-sw1"}, set()),
    ({"stc-sw1"}, set()),  # the WAN is cut: one root outage, two unreachable
    ({"stc-sw1"}, set()),
    ({"h01-wan", "h01-r1", "x01-r1", "stc-sw1"}, set()),  # restored
    ({"h01-wan", "h01-r1", "x01-r1"}, set()),  # the switch stops answering
    ({"h01-wan", "h01-r1", "x01-r1"}, set()),
    ({"h01-wan", "h01-r1", "x01-r1"}, {"stc-sw1"}),  # maintenance over its outage
    ({"h01-wan", "h01-r1", "x01-r1", "stc-sw1"}, {"stc-sw1"}),
    ({"h01-wan", "h01-r1", "x01-r1", "stc-sw1"}, set()),  # maintenance ends
    ({"h01-wan", "x01-r1", "stc-sw1"}, set()),  # the router stops, the device behind it is unreachable
    ({"h01-wan", "stc-sw1"}, set()),
    ({"h01-wan", "h01-r1", "x01-r1", "stc-sw1"}, set()),
]


async def test_mqtt_outage_events_equal_the_outage_rows(engine: sa.Engine) -> None:
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    config = MqttConfig.model_validate({"host": "127.0.0.1", "port": 1883, "topic_prefix": prefix})
    states = StateEngine(StateRules(down_after=2, up_after=1), DEPS)
    log = RecordingLog()
    try:
        async with subscribed(f"{prefix}/events/#") as sub, MqttPublisher(config, engine, log=log) as publisher:
            pipeline = TransitionPipeline(
                engine,
                prefix=prefix,
                instruments=Instruments.register(CollectorRegistry()),
                log=log,
                on_written=publisher.wake,
            )
            async with _running(pipeline):
                for minute, (answering, maintenance) in enumerate(SCENARIO):
                    seen = {key: key[1] in answering for key in DEPS}
                    keys = {key for key in DEPS if key[1] in maintenance}
                    pipeline.publish(states.observe(T0 + timedelta(minutes=minute), seen, maintenance=keys))
            rows = {o["id"]: o for o in _rows(engine, "outages")}
            await sub.until(lambda got: _outages(got) == _expected(rows), within=15)
        assert pipeline.poisoned == 0
        causes = sorted((o["object_name"], o["cause"]) for o in rows.values())
        assert ("h01-wan", "down") in causes
        assert ("x01-r1", "unreachable") in causes
        assert ("stc-sw1", "maintenance") in causes
        assert all(o["ended_at"] is not None for o in rows.values())  # everything came back
    finally:
        await clear_retained([f"{prefix}/state/{kind}/{name}" for kind, name in DEPS])


def _outages(received: list[Any]) -> dict[int, tuple[str, str, str, str, str | None]]:
    """Rebuild the outages from the events: opened gives the start, closed the end, keyed by outage_id."""
    found: dict[int, tuple[str, str, str, str, str | None]] = {}
    for message in received:
        p = message.payload
        if p["kind"] == "outage_opened":
            found[p["outage_id"]] = (p["object_kind"], p["object_name"], p["cause"], p["started_at"], None)
        elif p["kind"] == "outage_closed" and p["outage_id"] in found:
            found[p["outage_id"]] = (*found[p["outage_id"]][:4], p["ended_at"])
    return found


def _expected(rows: dict[int, dict[str, Any]]) -> dict[int, tuple[str, str, str, str, str | None]]:
    def iso(ts: datetime | None) -> str | None:
        return ts.replace(tzinfo=ts.tzinfo or UTC).astimezone(UTC).isoformat() if ts is not None else None

    return {
        i: (o["object_kind"], o["object_name"], o["cause"], str(iso(o["started_at"])), iso(o["ended_at"]))
        for i, o in rows.items()
    }


class _Batch(list[Transition]):
    """A batch that a weak reference can watch (a plain list cannot be weakly referenced)."""


async def test_a_written_batch_is_not_held_until_the_next_one(engine: sa.Engine) -> None:
    """The first judgements of every interface (170,000 at 10k) must not stay in memory once written (issue 12)."""
    written = asyncio.Event()
    pipeline = TransitionPipeline(
        engine, prefix=None, instruments=Instruments.register(CollectorRegistry()), log=RecordingLog(),
        on_written=written.set,
    )  # fmt: skip
    async with _running(pipeline):
        batch = _Batch(_t("interface", f"sw1:port{i}", K, U) for i in range(3))
        watch = weakref.ref(batch)
        pipeline.publish(batch)
        await asyncio.wait_for(written.wait(), 15.0)
        del batch
        gc.collect()
        assert watch() is None  # nothing in the pipeline holds it while it waits for the next batch
    assert len(_rows(engine, "state_changes")) == 3
