"""The defended HTTP surface: JSON errors everywhere, security headers, no CORS, body and depth caps, and slow or
greedy clients (slow loris, many connections, 10 MB bodies) while poll rounds run: clean 4xx or closed
connections, no round overrun, memory bounded, and another client still scrapes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.api.guard import SECURITY_HEADERS, _check_depth
from netmon.daemon import Daemon
from netmon.errors import InputError
from tests.monitoring import import_inventory, make_token, monitor_config, running
from tests.mqtt import eventually

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.7.1}
  - {name: p-r2, unit: P, role: switch, address: 127.77.7.2, parent: p-r1}
"""
HEADER_TIMEOUT = 1.0
MB = 1024 * 1024


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    db_url = f"sqlite:///{tmp_path}/netmon.db"
    import_inventory(db_url, INVENTORY, tmp_path, {})
    http = {"listen": "127.0.0.1:0", "header_timeout": HEADER_TIMEOUT}
    async with running(monitor_config(db_url, {}, http=http)) as running_daemon:
        yield running_daemon


def _url(daemon: Daemon, path: str) -> str:
    assert daemon.http is not None
    return f"{daemon.http.url}{path}"


async def _send(
    method: str, url: str, *, data: Any = None, headers: dict[str, str] | None = None, local: str | None = None
) -> tuple[int, dict[str, str], Any]:
    connector = aiohttp.TCPConnector(local_addr=(local, 0) if local else None)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=20)) as session,
        session.request(method, url, data=data, headers=headers) as reply,
    ):
        text = await reply.text()
        body = json.loads(text) if reply.content_type == "application/json" else text
        return reply.status, dict(reply.headers), body


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/nope", 404, id="unknown-path"),
        pytest.param("GET", "/api/v1/nope", 404, id="unknown-api-path"),
        pytest.param("GET", "/api/v1/maintenance/abc", 404, id="bad-id"),
        pytest.param("PUT", "/api/v1/devices", 405, id="wrong-method"),
        pytest.param("OPTIONS", "/api/v1/devices", 405, id="no-cors-preflight"),
        pytest.param("GET", "/api/v1/devices?level=village", 400, id="bad-query"),
        pytest.param("GET", "/api/v1/audit?limit=0", 400, id="bad-limit"),
        pytest.param("POST", "/api/v1/reload", 401, id="write-without-token"),
    ],
)
async def test_every_error_is_json_with_security_headers_and_no_cors(
    daemon: Daemon, method: str, path: str, status: int
) -> None:
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    got, headers, body = await _send(method, _url(daemon, path), headers=origin)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert set(body) == {"error", "status"}
    assert body["status"] == status
    assert isinstance(body["error"], str)
    assert body["error"]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    assert not [h for h in headers if h.lower().startswith("access-control-")]


async def test_success_answers_carry_the_security_headers_too(daemon: Daemon) -> None:
    for path in ("/metrics", "/api/v1/devices", "/healthz"):
        status, headers, _ = await _send("GET", _url(daemon, path), headers={"Origin": "https://evil.example"})
        assert status == 200
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert not [h for h in headers if h.lower().startswith("access-control-")]


async def _add_window(daemon: Daemon, token: str, name: str, objects: list[str]) -> tuple[int, Any]:
    """POST a maintenance window of the next hour; return the status and the JSON answer."""
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    window = {"name": name, "objects": objects, "ends_at": ends}
    status, _, body = await _send(
        "POST", _url(daemon, "/api/v1/maintenance"), data=json.dumps(window), headers=_bearer(token)
    )
    return status, body


async def test_a_bad_maintenance_object_is_named_not_counted(daemon: Daemon) -> None:
    token = await asyncio.to_thread(make_token, daemon)
    status, body = await _add_window(daemon, token, "x", ["unit:NOPE"])
    assert status == 400
    assert "unit:NOPE" in body["error"]
    assert "config error" not in body["error"]


async def test_a_window_name_is_stored_without_its_surrounding_spaces(daemon: Daemon) -> None:
    token = await asyncio.to_thread(make_token, daemon)
    status, body = await _add_window(daemon, token, "  reboot core ", ["device:p-r1"])
    assert (status, body["name"]) == (201, "reboot core")
    status, _, listed = await _send("GET", _url(daemon, "/api/v1/maintenance"), headers=_bearer(token))
    assert [w["name"] for w in listed["windows"] if w.get("id") == body["id"]] == ["reboot core"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _rss() -> int:
    """Return this process's resident memory in bytes (the daemon runs in this process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


async def test_big_bodies_deep_json_and_slow_clients_during_poll_rounds(daemon: Daemon) -> None:
    token = await asyncio.to_thread(make_token, daemon)
    url = _url(daemon, "/api/v1/maintenance")
    rounds_before = daemon.runtime.stats()["ping"].rounds
    rss_before = _rss()
    # slow loris: partial request heads, one byte now and then, on more connections than one client may open
    assert daemon.http is not None
    port = daemon.http.port
    slow = [await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.4", 0)) for _ in range(40)]
    for _, writer in slow:
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: netmon\r\nX-Slow: ")
    big = b"{" + b" " * (10 * MB) + b"}"
    for _ in range(3):  # 10 MB bodies: declared, and chunked without a length
        for data in (io.BytesIO(big), _chunks(10 * MB)):  # BytesIO: aiohttp sends its Content-Length
            status, _, body = await _send("POST", url, data=data, headers=_bearer(token), local="127.0.0.3")
            assert (status, body["status"]) == (413, 413)
    deep = b"[" * 20000 + b"]" * 20000
    status, _, body = await _send("POST", url, data=deep, headers=_bearer(token), local="127.0.0.3")
    assert (status, body["error"]) == (400, "body: JSON nested deeper than 32 levels")
    # another client (another loopback address) still scrapes while the slow ones hold their connections
    status, _, text = await _send("GET", _url(daemon, "/metrics"), local="127.0.0.2")
    assert status == 200
    assert "netmon_device_up" in text
    closed = 0
    async with asyncio.timeout(HEADER_TIMEOUT + 10):
        for reader, writer in slow:
            with contextlib.suppress(ConnectionError):
                writer.write(b"x")
            try:
                answer = await reader.read()
            except ConnectionResetError:  # aborted: also closed
                answer = b""
            assert answer == b""  # closed by the server, without an answer
            closed += 1
            writer.close()
    assert closed == 40
    assert daemon.http.guard.refused["connections"] == 40 - daemon.http.guard.policy.per_client_connections
    assert daemon.http.guard.refused["slow"] >= daemon.http.guard.policy.per_client_connections
    async with asyncio.timeout(10):
        await daemon.wait_until(lambda: daemon.runtime.stats()["ping"].rounds >= rounds_before + 2)
    stats = daemon.runtime.stats()["ping"]
    assert stats.overruns == 0
    assert stats.missed == 0
    assert _rss() - rss_before < 40 * MB, (rss_before, _rss())


async def test_one_client_cannot_hold_more_requests_than_its_share(daemon: Daemon) -> None:
    assert daemon.http is not None
    guard = daemon.http.guard
    share = guard.policy.per_client
    token = await asyncio.to_thread(make_token, daemon)
    release = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:  # a body that comes only when released: the request stays in flight
        yield b"{"  # aiohttp sends the request head with the first chunk
        await release.wait()
        yield b"}"

    url = _url(daemon, "/api/v1/maintenance")
    held = [asyncio.create_task(_send("POST", url, data=trickle(), headers=_bearer(token))) for _ in range(share)]
    await eventually(lambda: sum(guard._in_flight.values()) == share, within=10, what="requests in flight")
    status, headers, body = await _send("GET", _url(daemon, "/api/v1/devices"))
    assert (status, headers.get("Retry-After"), body["status"]) == (429, "1", 429)
    assert (await _send("GET", _url(daemon, "/metrics"), local="127.0.0.2"))[0] == 200  # others are served
    release.set()
    async with asyncio.timeout(10):
        answers = await asyncio.gather(*held)
    assert [(s, b["error"]) for s, _, b in answers] == [
        (400, "name: a text of 1 to 128 characters is required")
    ] * share
    assert (await _send("GET", _url(daemon, "/api/v1/devices")))[0] == 200


@given(
    st.recursive(
        st.none() | st.integers() | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)
    )
)
def test_the_depth_check_agrees_with_the_real_nesting(value: Any) -> None:
    raw = json.dumps(value).encode()
    depth = _depth(value)
    _check_depth(raw, depth)  # exactly deep enough passes
    if depth:
        with pytest.raises(InputError):
            _check_depth(raw, depth - 1)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0
