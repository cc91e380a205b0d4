"""Restarts that left things behind (issue 15, failures 5 and 6), on SQLite and PostgreSQL.

- A device removed from the inventory while netmon was stopped kept its open outage and its
  retained MQTT state: a start now closes both, exactly as a reload does.
- A broker restarted without persistence forgot every retained state: the publisher now
  republishes them after every (re)connect.

Each test runs its own Mosquitto without persistence on a free port (the shared one is not touched).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa

from netmon.config import Config, MaintenanceConfig
from netmon.inventory import schema
from netmon.inventory.files import read_files
from netmon.inventory.store import Store
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State
from netmon.pollers.base import utcnow
from tests.monitoring import import_inventory, monitor_config, running
from tests.mqtt import Broker, eventually, subscribed

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: core, unit: P, role: router, address: 127.79.1.1}
  - {name: edge, unit: P, role: switch, address: 127.79.1.2, parent: core}
"""
WINDOW = {"name": "bảo trì", "objects": ["device:edge"], "start": "2026-01-01T00:00:00+07:00",
          "end": "2099-01-01T00:00:00+07:00"}  # fmt: skip


@asynccontextmanager
async def _broker(folder: Path) -> AsyncIterator[Broker]:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    broker = Broker(folder, persistence=False)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def _config(db_url: str, broker: Broker, prefix: str, *, window: bool) -> Config:
    config = monitor_config(db_url, {}, mqtt={"enabled": True, "port": broker.port, "topic_prefix": prefix})
    if window:
        config = config.model_copy(update={"maintenance": [MaintenanceConfig.model_validate(WINDOW)]})
    return config


def _edge_changes(db_url: str) -> list[str]:
    engine = schema.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("select state from state_changes where object_name = 'edge' order by id")
            ).scalars()
            return list(rows)
    finally:
        engine.dispose()


async def test_a_device_removed_while_stopped_is_closed_at_start_as_a_reload_would(db_url: str, tmp_path: Path) -> None:
    import_inventory(db_url, INVENTORY, tmp_path, {})
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    async with _broker(tmp_path / "broker") as broker:
        async with running(_config(db_url, broker, prefix, window=True)) as daemon:
            async with asyncio.timeout(30):
                await daemon.wait_until(
                    lambda: daemon.flushed and daemon.live.states("device").get("edge") is State.MAINTENANCE
                )
        # stopped: edge leaves the inventory
        kept = INVENTORY.replace("  - {name: edge, unit: P, role: switch, address: 127.79.1.2, parent: core}\n", "")
        (tmp_path / "kept.yaml").write_text(kept, encoding="utf-8")
        store = Store.open(db_url)
        try:
            store.import_parsed(read_files([tmp_path / "kept.yaml"]), profiles=[], prune=True)
        finally:
            store.close()
        started = utcnow()
        async with running(_config(db_url, broker, prefix, window=False)) as daemon:
            async with asyncio.timeout(30):
                await daemon.wait_until(lambda: daemon.flushed and daemon.live.rounds["ping"] > 0)
        async with subscribed(f"{prefix}/state/device/edge", port=broker.port) as late:  # after the stop
            await late.until(lambda got: len(got) >= 1, within=15)
        assert [(m.payload["state"], m.retain) for m in late.messages] == [("removed", True)]
        before = _edge_changes(db_url)
        assert before[-2:] == ["maintenance", "removed"]
        async with running(_config(db_url, broker, prefix, window=False)) as daemon:  # a second start: nothing new
            async with asyncio.timeout(30):
                await daemon.wait_until(lambda: daemon.flushed and daemon.live.rounds["ping"] > 0)
    engine = schema.create_engine(db_url)
    try:
        outages = OutageLedger(engine).outages()
    finally:
        engine.dispose()
    assert [(o.name, o.cause, o.end_cause) for o in outages] == [("edge", "maintenance", "removed")]
    ended = outages[0].ended_at
    assert ended is not None
    assert started <= ended <= utcnow()  # closed at the start, not left open
    assert _edge_changes(db_url) == before  # the second start adds nothing


async def test_a_broker_restarted_without_persistence_gets_every_retained_state_back(
    db_url: str, tmp_path: Path
) -> None:
    import_inventory(db_url, INVENTORY, tmp_path, {})
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    async with _broker(tmp_path / "broker") as broker, running(_config(db_url, broker, prefix, window=False)) as daemon:
        async with asyncio.timeout(30):
            await daemon.wait_until(
                lambda: daemon.flushed and all(s is State.UP for s in daemon.live.states("device").values())
            )
        mqtt = daemon.mqtt
        assert mqtt is not None
        async with subscribed(f"{prefix}/state/#", port=broker.port) as before:
            await before.until(lambda got: len({m.topic for m in got}) == 2)
        published, republished = mqtt.published, mqtt.republished
        await broker.stop()  # no persistence: every retained message is gone
        await broker.start()
        await eventually(lambda: mqtt.republished >= republished + 2, 30, "the states republished")
        async with subscribed(f"{prefix}/state/#", port=broker.port) as late:
            await late.until(lambda got: len({m.topic for m in got}) == 2)
        assert mqtt.published == published  # nothing new came from the outbox: these are the states again
    states = {m.topic.removeprefix(f"{prefix}/state/"): m.payload["state"] for m in late.messages}
    assert states == {"device/core": "up", "device/edge": "up"}
    assert all(m.retain for m in late.messages)
