"""The API's JSON follows the one input-error rule (issue 15): any bad body is a 400 naming the field, never a 500."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

from netmon.api.service import ApiService
from netmon.daemon import Daemon
from tests.monitoring import import_inventory, make_token, monitor_config, running

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: core, unit: P, role: router, address: 127.79.4.1}
"""
ENDS = '"ends_at": "2099-01-01T00:00:00+07:00"'

#: id: (method, path, raw body, expected status, expected error text)
CASES: dict[str, tuple[str, str, bytes, int, str]] = {
    "deep-nesting": ("POST", "/api/v1/maintenance", b"[" * 10_000, 400, "body: JSON nested deeper than 32 levels"),
    "huge-number": ("POST", "/api/v1/maintenance", b'{"name": ' + b"9" * 5000 + b"}", 400, "body: expected JSON"),
    "bad-utf8": ("POST", "/api/v1/maintenance", b'{"name": "\xff"}', 400, "body: expected JSON"),
    "nul-body": ("POST", "/api/v1/maintenance", b"\x00", 400, "body: expected JSON"),
    "nul-in-name": (
        "POST",
        "/api/v1/maintenance",
        ('{"name": "a\\u0000b", "objects": ["device:core"], ' + ENDS + "}").encode(),
        400,
        "name: NUL characters are not allowed",
    ),
    "impossible-date": (
        "POST",
        "/api/v1/maintenance",
        b'{"name": "x", "objects": ["device:core"], "ends_at": "2026-12-32T02:00:00+07:00"}',
        400,
        "ends_at: '2026-12-32T02:00:00+07:00' is not an ISO date/time",
    ),
    "huge-id": ("DELETE", "/api/v1/maintenance/" + "9" * 5000, b"", 404, "no such API maintenance window"),
}


def _request(daemon: Daemon, method: str, path: str, body: bytes, token: str) -> tuple[int, dict[str, str]]:
    assert daemon.http is not None
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{daemon.http.url}{path}", data=body or None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_bad_api_bodies_are_400_naming_the_field(db_url: str, tmp_path: Path) -> None:
    import_inventory(db_url, INVENTORY, tmp_path, {})
    async with running(monitor_config(db_url, {})) as daemon:
        token = make_token(daemon)  # writes need a write token (issue 14)
        for name, (method, path, body, status, error) in CASES.items():
            got = await asyncio.to_thread(_request, daemon, method, path, body, token)
            assert got == (status, {"error": error, "status": status}), name
        assert await ApiService(daemon.runtime).db_problem() is None  # nothing reached the database half-written
