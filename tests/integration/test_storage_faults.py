"""Storage faults on SQLite made by the kernel (issue 15, failures 3 and 4): visible, healed, nothing lost.

A read-only database is a read-only bind mount reached through a symlink (tests/faults.py); a
full disk is a small tmpfs of the test's own. Both need root and skip without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from netmon.config import MaintenanceConfig, MqttConfig
from netmon.daemon import Daemon
from netmon.errors import StoreError
from netmon.inventory import schema
from netmon.inventory.health import DbHealthCollector, health_of
from netmon.monitor.maintenance import Window
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State
from netmon.monitor.windows import WindowStore
from netmon.pollers.base import utcnow
from netmon.sinks.events import OutboxMessage
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.outbox import Outbox
from tests.faults import read_only_switch, small_disk
from tests.monitoring import import_inventory, monitor_config, running
from tests.mqtt import Broker, eventually, subscribed

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: core, unit: P, role: router, address: 127.79.0.1}
  - {name: edge, unit: P, role: switch, address: 127.79.0.2, parent: core}
"""

WINDOW = {"name": "bảo trì", "objects": ["device:edge"], "start": "2026-01-01T00:00:00+07:00",
          "end": "2099-01-01T00:00:00+07:00"}  # fmt: skip

#: A fault: the database URL, how to break it under a running daemon, how to heal it.
_Fault = tuple[str, Callable[[Daemon], None], Callable[[], None]]


def _window(name: str) -> Window:
    now = utcnow()
    return Window(name=name, objects=("device:edge",), source="api", starts_at=now, ends_at=now + timedelta(hours=1))


def _registry(engine: sa.Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DbHealthCollector(health_of(engine)))
    return registry


def test_a_connection_opened_while_read_only_heals_once_writable(tmp_path: Path) -> None:
    with read_only_switch(tmp_path) as switch:
        engine = schema.create_engine(f"sqlite:///{switch.db}")
        try:
            schema.upgrade(engine)
            windows, registry = WindowStore(engine), _registry(engine)
            windows.add(_window("trước"))
            before = registry.get_sample_value("netmon_db_last_write_success_timestamp_seconds")
            assert before is not None
            with contextlib.closing(sqlite3.connect(switch.db)) as other:  # another reader keeps the WAL open
                other.execute("select count(*) from maintenance_windows").fetchone()
                switch.read_only()
                engine.dispose()  # the pool's next connection is opened while the file is read-only
                with pytest.raises(StoreError, match="readonly database"):
                    windows.add(_window("trong"))
            problem = health_of(engine).problem()
            assert problem is not None
            assert "maintenance windows: attempt to write a readonly database" in problem
            assert registry.get_sample_value("netmon_db_write_errors_total", {"operation": "maintenance windows"}) == 1
            assert registry.get_sample_value("netmon_db_writes_failing") == 1
            switch.writable()
            windows.add(_window("sau"))  # the read-only connection was dropped: this one can write
            assert [w.name for w in windows.active(utcnow())] == ["trước", "sau"]
            assert registry.get_sample_value("netmon_db_writes_failing") == 0
            after = registry.get_sample_value("netmon_db_last_write_success_timestamp_seconds")
            assert after is not None
            assert after >= before
        finally:
            engine.dispose()


def test_a_full_disk_fails_writes_visibly_and_heals(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "2m") as disk:
        engine = schema.create_engine(f"sqlite:///{disk.path}/netmon.db")
        try:
            schema.upgrade(engine)
            windows, registry = WindowStore(engine), _registry(engine)
            stored = [windows.add(_window("0")).name]
            disk.fill()
            for n in range(1, 200):  # the WAL may still have room for a few
                try:
                    stored.append(windows.add(_window(str(n))).name)
                except StoreError as exc:
                    assert "database or disk is full" in str(exc)
                    break
            else:
                pytest.fail("200 writes fit on a full disk")
            assert registry.get_sample_value("netmon_db_writes_failing") == 1
            disk.free()
            stored.append(windows.add(_window("healed")).name)
            assert [w.name for w in windows.active(utcnow())] == stored  # every acknowledged write is there
            assert registry.get_sample_value("netmon_db_writes_failing") == 0
        finally:
            engine.dispose()


def test_start_refuses_a_read_only_database(tmp_path: Path) -> None:
    with read_only_switch(tmp_path) as switch:
        url = f"sqlite:///{switch.db}"
        import_inventory(url, INVENTORY, tmp_path, {})
        with contextlib.closing(sqlite3.connect(switch.db)) as other:  # keeps the WAL: the file opens, read-only
            other.execute("select count(*) from sqlite_master").fetchone()
            switch.read_only()
            daemon = Daemon(monitor_config(url, {}), registry=CollectorRegistry())
            with pytest.raises(StoreError, match=r"the database does not take writes: .*readonly database"):
                asyncio.run(daemon.run(asyncio.Event()))


def _get(daemon: Daemon, path: str) -> tuple[int, Any]:
    assert daemon.http is not None
    try:
        with urllib.request.urlopen(f"{daemon.http.url}{path}", timeout=5) as reply:  # noqa: S310 (loopback)
            body, status = reply.read(), reply.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, body.decode() if path == "/metrics" else json.loads(body)


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    return None


@contextmanager
def _read_only(tmp_path: Path) -> Iterator[_Fault]:
    with read_only_switch(tmp_path) as switch:
        readers: list[sqlite3.Connection] = []

        def break_it(daemon: Daemon) -> None:
            readers.append(sqlite3.connect(switch.db))  # a reader (an operator's CLI) keeps the WAL open
            readers[0].execute("select count(*) from sqlite_master").fetchone()
            switch.read_only()
            daemon.engine.dispose()  # connections opened from now on are read-only

        try:
            yield f"sqlite:///{switch.db}", break_it, switch.writable
        finally:
            for reader in readers:
                reader.close()


@contextmanager
def _full_disk(tmp_path: Path) -> Iterator[_Fault]:
    with small_disk(tmp_path / "disk", "3m") as disk:
        db = disk.path / "netmon.db"
        readers: list[sqlite3.Connection] = []

        def break_it(_daemon: Daemon) -> None:
            # a reader keeps the WAL: else the pool's invalidation closes the last connection, SQLite
            # deletes the WAL file and the freed space lets the retry through at once
            readers.append(sqlite3.connect(db))
            readers[0].execute("select count(*) from sqlite_master").fetchone()
            disk.fill()

        try:
            yield f"sqlite:///{db}", break_it, disk.free
        finally:
            for reader in readers:
                reader.close()


FAULTS: dict[
    str, Callable[[Path], AbstractContextManager[tuple[str, Callable[[Daemon], None], Callable[[], None]]]]
] = {
    "read-only": _read_only,
    "disk-full": _full_disk,
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_failing_writes_show_in_readyz_and_metrics_then_heal_losing_nothing(tmp_path: Path, fault: str) -> None:
    with FAULTS[fault](tmp_path) as (url, break_it, heal):
        import_inventory(url, INVENTORY, tmp_path, {})
        config = monitor_config(url, {})
        reloaded = config.model_copy(update={"maintenance": [MaintenanceConfig.model_validate(WINDOW)]})
        async with running(config, load_config=lambda: reloaded) as daemon:
            health = health_of(daemon.engine)
            async with asyncio.timeout(30):
                await daemon.wait_until(lambda: daemon.flushed and daemon.live.states("device").get("edge") is State.UP)
            assert (await asyncio.to_thread(_get, daemon, "/readyz"))[0] == 200
            break_it(daemon)
            daemon.request_reload()  # the window puts edge in maintenance: a transition to write
            async with asyncio.timeout(30):
                await daemon.wait_until(lambda: health.failing is not None)
            status, ready = await asyncio.to_thread(_get, daemon, "/readyz")
            assert status == 503
            assert any("writes failing since" in p and "outage ledger" in p for p in ready["problems"])
            metrics = (await asyncio.to_thread(_get, daemon, "/metrics"))[1]
            assert _metric(metrics, "netmon_db_writes_failing") == 1
            assert (_metric(metrics, 'netmon_db_write_errors_total{operation="outage ledger"}') or 0) >= 1
            assert not daemon.flushed  # the transition waits in memory, retried with backoff
            heal()
            async with asyncio.timeout(60):
                await daemon.wait_until(lambda: daemon.flushed and health.failing is None)
            assert (await asyncio.to_thread(_get, daemon, "/readyz"))[0] == 200
            metrics = (await asyncio.to_thread(_get, daemon, "/metrics"))[1]
            assert _metric(metrics, "netmon_db_writes_failing") == 0
        engine = schema.create_engine(url)
        try:
            outages = [(o.name, o.cause, o.ended_at) for o in OutageLedger(engine).outages()]
            with engine.connect() as conn:
                changes = conn.execute(
                    sa.text("select count(*) from state_changes where object_name = 'edge' and state = 'maintenance'")
                ).scalar()
        finally:
            engine.dispose()
        assert outages == [("edge", "maintenance", None)]  # written once, after the fault
        assert changes == 1


async def test_messages_acknowledged_while_the_outbox_cannot_delete_are_not_sent_again(tmp_path: Path) -> None:
    """Issue 15, failure 3: after a read-only database, two MQTT messages were delivered twice."""
    with read_only_switch(tmp_path) as switch:
        engine = schema.create_engine(f"sqlite:///{switch.db}")
        broker = Broker(tmp_path / "broker-data")
        await asyncio.to_thread(broker.folder.mkdir)
        await broker.start()
        try:
            await asyncio.to_thread(schema.upgrade, engine)
            topic = f"netmon-test-{uuid.uuid4().hex[:12]}/events/transition"
            sent = [OutboxMessage(event_id=str(n), topic=topic, payload=json.dumps({"id": str(n)})) for n in range(3)]
            outbox = Outbox(engine)
            await asyncio.to_thread(outbox.write, sent)
            reader = sqlite3.connect(switch.db)  # keeps the WAL: the file opens read-only
            try:
                reader.execute("select count(*) from sqlite_master").fetchone()
                switch.read_only()
                engine.dispose()  # the publisher's connections open read-only: it can read, not delete
                config = MqttConfig(port=broker.port)
                async with (
                    subscribed(topic, port=broker.port) as got,
                    MqttPublisher(config, engine, idle_wake=0.2, backoff=(0.05, 0.2)) as publisher,
                ):
                    await eventually(lambda: publisher.published == 3, 15, "the messages acknowledged")
                    await eventually(lambda: health_of(engine).errors["mqtt outbox"] >= 2, 15, "failed deletes")
                    switch.writable()
                    await eventually(lambda: publisher.pending_estimate == 0 and not health_of(engine).failing, 15)
                    await got.until(lambda messages: len(messages) >= 3)
                    assert await asyncio.to_thread(outbox.count) == 0
            finally:
                reader.close()
            assert publisher.published == 3  # not 6: the acknowledged ones were deleted, not sent again
            assert sorted(m.payload["id"] for m in got.messages) == ["0", "1", "2"]
        finally:
            await broker.stop()
            engine.dispose()
