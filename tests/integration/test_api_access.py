"""API tokens (read, write, expired, revoked) and the audit trail: database rows, MQTT events (real Mosquitto)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from netmon.api.access import Access, is_loopback
from netmon.api.audit import AuditLog, AuditRecord
from netmon.api.tokens import PREFIX, TokenStore, hash_token, parse_expiry
from netmon.config import Config, HttpConfig
from netmon.errors import ConfigError, InputError, NotFoundError
from netmon.inventory import schema
from netmon.pollers.base import utcnow
from tests.monitoring import import_inventory, monitor_config, running
from tests.mqtt import subscribed

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
  - {code: P-D1, name: Huyện Một, level: district, parent: P}
  - {code: P-W1, name: Xã Một, level: ward, parent: P-D1}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.6.1}
  - {name: w1-r1, unit: P-W1, role: router, address: 127.77.6.2, parent: p-r1}
"""
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Any:
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, None, id="default-never"),
        pytest.param("never", None, id="never"),
        pytest.param("90d", NOW + timedelta(days=90), id="days"),
        pytest.param("12h", NOW + timedelta(hours=12), id="hours"),
        pytest.param("2w", NOW + timedelta(weeks=2), id="weeks"),
    ],
)
def test_expiry_durations(text: str | None, expected: datetime | None) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize("text", ["0d", "90", "d", "-1d", "1y", "90 days", ""], ids=str)
def test_bad_expiry_names_the_option(text: str) -> None:
    with pytest.raises(InputError, match="--expires"):
        parse_expiry(text, NOW)


def test_tokens_store_only_a_hash_and_honour_expiry_and_revocation(engine: sa.Engine) -> None:
    tokens = TokenStore(engine)
    token, info = tokens.create("grafana", "read", NOW + timedelta(days=1), NOW)
    assert token.startswith(PREFIX)
    assert len(token) >= 40
    assert info.scope == "read"
    with engine.connect() as conn:
        stored = [str(v) for row in conn.execute(sa.text("select * from api_tokens")) for v in row]
    assert token not in " ".join(stored)
    assert hash_token(token) in stored
    assert tokens.lookup(token, NOW) == info
    assert tokens.lookup(token, NOW + timedelta(days=2)) is None  # expired
    assert tokens.lookup(token + "x", NOW) is None
    assert tokens.lookup("not-a-token", NOW) is None
    with pytest.raises(InputError, match="exists already"):
        tokens.create("grafana", "write", None, NOW)
    with pytest.raises(InputError, match="--scope"):
        tokens.create("ops", "admin", None, NOW)
    with pytest.raises(InputError, match="--name"):
        tokens.create("bad name", "read", None, NOW)
    writer, _ = tokens.create("ops", "write", None, NOW)
    assert tokens.revoke("ops", NOW).revoked_at == NOW
    assert tokens.lookup(writer, NOW) is None
    with pytest.raises(NotFoundError):
        tokens.revoke("nobody", NOW)
    assert [(t.name, t.scope, t.revoked_at is not None) for t in tokens.list()] == [
        ("grafana", "read", False),
        ("ops", "write", True),
    ]


def test_the_audit_log_keeps_rows_newest_first(engine: sa.Engine) -> None:
    lines: list[tuple[str, dict[str, Any]]] = []

    class Log:
        def info(self, event: str, **fields: Any) -> None:
            lines.append((event, fields))

    audit = AuditLog(engine, mqtt_prefix="t-audit", log=Log())
    first = audit.record(AuditRecord(actor="cli:root", action="token.create", target="token:a", source="local"))
    audit.record(AuditRecord(actor="token:a", action="reload", target="config", source="127.0.0.1", detail={"x": 1}))
    rows = audit.list()
    assert [(r.action, r.actor, r.detail) for r in rows] == [
        ("reload", "token:a", {"x": 1}),
        ("token.create", "cli:root", {}),
    ]
    assert audit.list(limit=1)[0].action == "reload"
    assert audit.list(since=first.at + timedelta(days=1)) == []
    assert [e for e, _ in lines] == ["audit", "audit"]
    with engine.connect() as conn:
        topics = [r[0] for r in conn.execute(sa.text("select topic from mqtt_outbox order by id"))]
    assert topics == ["t-audit/events/audit", "t-audit/events/audit"]


@pytest.mark.parametrize(
    ("listen", "insecure", "refused"),
    [
        pytest.param("127.0.0.1:9105", False, False, id="loopback"),
        pytest.param("[::1]:9105", False, False, id="loopback-v6"),
        pytest.param("localhost:9105", False, False, id="localhost"),
        pytest.param("0.0.0.0:9105", False, True, id="any"),
        pytest.param("192.0.2.10:9105", False, True, id="lan"),
        pytest.param("netmon.example:9105", False, True, id="a-name"),
        pytest.param("0.0.0.0:9105", True, False, id="any-insecure"),
    ],
)
def test_beyond_loopback_needs_auth_or_allow_insecure(listen: str, insecure: bool, refused: bool) -> None:
    warnings: list[str] = []

    class Log:
        def warning(self, event: str, **_fields: Any) -> None:
            warnings.append(event)

    http = HttpConfig(listen=listen, allow_insecure=insecure)
    if refused:
        with pytest.raises(ConfigError, match=r"http.listen: .*beyond loopback"):
            Access.open(http, None, None, log=Log())
        return
    access = Access.open(http, None, None, log=Log())
    assert access.policy.anonymous_reads
    assert bool(warnings) == insecure
    assert warnings == [] or warnings[0].startswith("INSECURE")
    assert is_loopback(HttpConfig().host)  # the default listens on loopback only


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    db_url = f"sqlite:///{tmp_path}/netmon.db"
    import_inventory(db_url, INVENTORY, tmp_path, {})
    return lambda **sections: monitor_config(db_url, {}, **sections)


async def _call(
    method: str, url: str, token: str | None = None, body: Any = None, header: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": header or f"Bearer {token}"} if header or token else {}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.request(method, url, headers=headers, json=body) as reply,
    ):
        text = await reply.text()
        return reply.status, json.loads(text) if reply.content_type == "application/json" else text


def _window(name: str = "thay thiết bị") -> dict[str, Any]:
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return {"name": name, "objects": ["unit:P-W1"], "ends_at": ends, "reason": "swap the router"}


async def test_token_scopes_read_write_expired_revoked(make_config: Callable[..., Config]) -> None:
    async with running(make_config(http={"listen": "127.0.0.1:0", "anonymous_reads": False})) as daemon:
        assert daemon.http is not None
        base, tokens, now = daemon.http.url, TokenStore(daemon.engine), utcnow()
        reader, _ = await asyncio.to_thread(tokens.create, "reader", "read", None, now)
        writer, _ = await asyncio.to_thread(tokens.create, "writer", "write", None, now)
        expired, _ = await asyncio.to_thread(tokens.create, "old", "write", now - timedelta(seconds=1), now)
        revoked, _ = await asyncio.to_thread(tokens.create, "gone", "write", None, now)
        await asyncio.to_thread(tokens.revoke, "gone", now)
        devices = f"{base}/api/v1/devices"
        assert (await _call("GET", devices))[0] == 401  # anonymous reads are off
        assert (await _call("GET", devices, reader))[0] == 200
        assert (await _call("GET", devices, writer))[0] == 200
        assert (await _call("GET", f"{base}/metrics", reader))[0] == 200
        for token in (expired, revoked, reader + "x", "nmt_guess"):
            status, body = await _call("GET", devices, token)
            assert (status, body["status"]) == (401, 401)
            assert token not in json.dumps(body)
        assert (await _call("GET", devices, header="Basic Zm9vOmJhcg=="))[0] == 401  # no basic auth configured
        maintenance = f"{base}/api/v1/maintenance"
        status, body = await _call("POST", maintenance, reader, _window())
        assert (status, body["status"]) == (403, 403)
        for bad in (None, expired, revoked):
            assert (await _call("POST", maintenance, bad, _window()))[0] == 401
        status, stored = await _call("POST", maintenance, writer, _window())
        assert status == 201
        assert stored["author"] == "token:writer"
        assert (await _call("DELETE", f"{maintenance}/{stored['id']}", reader))[0] == 403
        assert (await _call("DELETE", f"{maintenance}/{stored['id']}", writer))[0] == 200
        assert (await _call("GET", f"{base}/healthz"))[0] == 200


async def test_writes_are_audited_in_the_database_and_on_mqtt(make_config: Callable[..., Config]) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    mqtt = {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix}
    async with subscribed(f"{prefix}/events/audit") as events, running(make_config(mqtt=mqtt)) as daemon:
        assert daemon.http is not None
        base = daemon.http.url
        writer, _ = await asyncio.to_thread(TokenStore(daemon.engine).create, "ops-an", "write", None, utcnow())
        status, stored = await _call("POST", f"{base}/api/v1/maintenance", writer, _window())
        assert status == 201
        _, listed = await _call("GET", f"{base}/api/v1/maintenance")
        assert [(w["author"], w["reason"]) for w in listed["windows"]] == [("token:ops-an", "swap the router")]
        outages: list[Any] = []

        async def fetch_outages() -> None:
            outages[:] = (await _call("GET", f"{base}/api/v1/outages?cause=maintenance"))[1]["outages"]

        async with asyncio.timeout(20):  # the window puts w1-r1 in maintenance from the next round on
            while not outages:
                await fetch_outages()
                if not outages:  # wait for the next round and its write
                    seen: int = daemon.live.rounds["ping"]

                    def next_round(seen: int = seen) -> bool:
                        return daemon.live.rounds["ping"] > seen and daemon.flushed

                    await daemon.wait_until(next_round)
        (outage,) = outages
        assert outage["name"] == "w1-r1"
        assert outage["windows"] == [
            {"id": stored["id"], "name": "thay thiết bị", "author": "token:ops-an", "reason": "swap the router"}
        ]
        assert (await _call("DELETE", f"{base}/api/v1/maintenance/{stored['id']}", writer))[0] == 200
        assert (await _call("POST", f"{base}/api/v1/reload", writer))[0] == 202
        assert (await _call("DELETE", f"{base}/api/v1/maintenance/999", writer))[0] == 404  # nothing done: no audit
        await events.until(lambda got: len(got) >= 3, within=15)
        _, audit = await _call("GET", f"{base}/api/v1/audit")
    expected = [
        ("reload", "config"),
        ("maintenance.delete", f"maintenance:{stored['id']}"),
        ("maintenance.create", f"maintenance:{stored['id']}"),
    ]
    assert [(e["action"], e["target"]) for e in audit["entries"]] == expected
    assert {(e["actor"], e["source"]) for e in audit["entries"]} == {("token:ops-an", "127.0.0.1")}
    published = [m.payload for m in events.messages]
    assert [(p["action"], p["target"]) for p in published] == expected[::-1]
    assert all(p["schema"] == 1 and p["kind"] == "audit" and p["actor"] == "token:ops-an" for p in published)
    assert writer not in json.dumps(published) + json.dumps(audit)


async def test_a_sighup_reload_is_audited_once_per_signal(db_url: str, tmp_path: Path) -> None:
    """A real SIGHUP, through the handler `netmon run` installs: one audit row, MQTT event and log line each."""
    import_inventory(db_url, INVENTORY, tmp_path, {})
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    mqtt = {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix}
    loop = asyncio.get_running_loop()
    async with subscribed(f"{prefix}/events/audit") as events, running(monitor_config(db_url, {}, mqtt=mqtt)) as daemon:
        assert daemon.http is not None
        loop.add_signal_handler(signal.SIGHUP, daemon.signalled, signal.SIGHUP)  # as netmon/cli/run.py does
        try:
            for count in (1, 2):
                os.kill(os.getpid(), signal.SIGHUP)

                def reloaded(count: int = count) -> bool:
                    return daemon.runtime.reloads >= count

                async with asyncio.timeout(15):
                    await daemon.wait_until(reloaded)
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
        await events.until(lambda got: len(got) >= 2, within=15)
        _, audit = await _call("GET", f"{daemon.http.url}/api/v1/audit")
    shape = {"actor": "signal:SIGHUP", "action": "reload", "target": "config", "source": "local", "detail": {}}
    assert [{k: e[k] for k in shape} for e in audit["entries"]] == [shape, shape]
    published = [m.payload for m in events.messages]
    assert [{k: p[k] for k in shape} for p in published] == [shape, shape]
    assert [p["id"] for p in published] == [e["id"] for e in audit["entries"]][::-1]
    assert all(p["schema"] == 1 and p["kind"] == "audit" for p in published)
