"""A private PostgreSQL stopped and restarted while an outage is open: visible, then nothing lost or duplicated.

The server is the test's own (tests/pgprivate.py); the MQTT broker too (no persistence, free port).
While the server is down, edge's maintenance window ends: the transition waits in memory, the
recorder retries with backoff, /readyz names the database and the write error counter grows.
Once the server is back, the transition is written once, its outage closed once, and each of its
MQTT events is delivered (at least once; here exactly once, since no publish was in flight).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from netmon.config import MaintenanceConfig
from netmon.daemon import Daemon
from netmon.inventory import schema
from netmon.inventory.health import health_of
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State
from tests.monitoring import import_inventory, monitor_config, running
from tests.mqtt import Broker, subscribed
from tests.pgprivate import private_postgres

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: core, unit: P, role: router, address: 127.79.3.1}
  - {name: edge, unit: P, role: switch, address: 127.79.3.2, parent: core}
"""
WINDOW = {"name": "bảo trì", "objects": ["device:edge"], "start": "2026-01-01T00:00:00+07:00"}
#: The maintenance window ends this many seconds after the start, while the server is stopped.
WINDOW_SECONDS = 12


def _readyz(daemon: Daemon) -> tuple[int, Any]:
    assert daemon.http is not None
    try:
        with urllib.request.urlopen(f"{daemon.http.url}/readyz", timeout=5) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _recorded(url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str | None]], int]:
    engine = schema.create_engine(url)
    try:
        with engine.connect() as conn:
            changes = [
                (str(r[0]), str(r[1]))
                for r in conn.execute(sa.text("select object_name, state from state_changes order by id"))
            ]
            pending = int(conn.execute(sa.text("select count(*) from mqtt_outbox")).scalar() or 0)
        outages = [(o.name, o.cause, o.end_cause) for o in OutageLedger(engine).outages()]
    finally:
        engine.dispose()
    return changes, outages, pending


async def test_postgres_stopped_and_restarted_mid_outage_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with private_postgres() as pg:
        import_inventory(pg.url, INVENTORY, tmp_path, {})
        broker = Broker(tmp_path, persistence=False)
        await broker.start()
        prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
        base = monitor_config(pg.url, {}, mqtt={"enabled": True, "port": broker.port, "topic_prefix": prefix})
        ends = datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS)
        window = MaintenanceConfig.model_validate({**WINDOW, "end": ends.isoformat()})
        config = base.model_copy(update={"maintenance": [window]})
        try:
            async with (
                subscribed(f"{prefix}/events/transition", port=broker.port) as events,
                running(config) as daemon,
            ):
                async with asyncio.timeout(30):
                    await daemon.wait_until(
                        lambda: daemon.flushed and daemon.live.states("device").get("edge") is State.MAINTENANCE
                    )
                await asyncio.to_thread(pg.stop)  # the outage of edge is open in the database
                assert datetime.now(UTC) < ends, "the machine is too slow for this window"
                # the window ends: edge comes back up while nothing can be written
                health = health_of(daemon.engine)
                async with asyncio.timeout(WINDOW_SECONDS + 30):
                    await daemon.wait_until(lambda: not daemon.flushed and health.errors["outage ledger"] > 0)
                status, ready = await asyncio.to_thread(_readyz, daemon)
                assert status == 503
                assert any(p.startswith("database: ") for p in ready["problems"])
                assert health.problem() is not None
                await asyncio.to_thread(pg.start)
                async with asyncio.timeout(60):
                    await daemon.wait_until(lambda: daemon.flushed and health.failing is None)
                assert (await asyncio.to_thread(_readyz, daemon))[0] == 200
                mqtt = daemon.mqtt
                assert mqtt is not None
            changes, outages, pending = await asyncio.to_thread(_recorded, pg.url)
            assert pending == 0
            # a fresh database: each object's first change is its first judgement, which has no event (issue 12)
            expected = len(changes) - len({name for name, _ in changes})
            await events.until(lambda got: len(got) >= expected, within=15)
        finally:
            await broker.stop()
    # the window's end makes edge unknown for a round, then up: each change once, none lost
    assert [state for name, state in changes if name == "edge"] == ["maintenance", "unknown", "up"]
    assert outages == [("edge", "maintenance", "unknown")]  # opened once, closed once, while the server was down
    ids = [m.payload["id"] for m in events.messages]
    assert len(ids) == len(set(ids)) == expected  # every later transition's event, none twice
