"""The OpenAPI spec matches the routes, and schemathesis fuzzes the served API from it: no 5xx, every answer as
documented. Bounded: MAX_EXAMPLES per operation, each request within REQUEST_TIMEOUT seconds."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from netmon.api.openapi import spec, undocumented
from netmon.daemon import Daemon
from tests.monitoring import import_inventory, make_token, monitor_config, running

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
  - {code: P-D1, name: Huyện Một, level: district, parent: P}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.8.1}
  - {name: d1-r1, unit: P-D1, role: router, address: 127.77.8.2, parent: p-r1}
links:
  - {name: d1-man, kind: man, unit: P-D1, device: d1-r1, capacity_mbps: 100}
"""
MAX_EXAMPLES = 30
REQUEST_TIMEOUT = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
schema = schemathesis.openapi.from_dict(spec())  # the same document the server serves (checked below)


@dataclass(frozen=True)
class Served:
    """A daemon running in a thread of its own, with a write token."""

    daemon: Daemon
    url: str
    token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("fuzz")
    db_url = f"sqlite:///{folder}/netmon.db"
    import_inventory(db_url, INVENTORY, folder, {})
    config = monitor_config(db_url, {})
    started, stop = threading.Event(), threading.Event()
    box: list[Daemon] = []
    failure: list[BaseException] = []

    async def serve() -> None:
        async with running(config) as daemon:
            box.append(daemon)
            started.set()
            await asyncio.to_thread(stop.wait)  # until the module's tests are done

    def main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=main, name="fuzzed-daemon")
    thread.start()
    try:
        assert started.wait(30), "the daemon did not start within 30 s"
        assert not failure, failure
        daemon = box[0]
        assert daemon.http is not None
        yield Served(daemon=daemon, url=daemon.http.url, token=make_token(daemon, name="fuzzer"))
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the daemon did not stop within 30 s"


def test_the_route_check_sees_both_kinds_of_gap() -> None:
    app = web.Application()
    app.router.add_get("/api/v1/devices", _nothing)
    app.router.add_get("/api/v1/secret", _nothing)
    gaps = undocumented(app)
    assert "GET /api/v1/secret" in gaps  # served, not documented
    assert "DELETE /api/v1/maintenance/{id}" in gaps  # documented, not served
    assert "GET /api/v1/devices" not in gaps


async def _nothing(_request: web.Request) -> web.Response:
    return web.Response()


def test_the_served_spec_matches_the_routes(served: Served) -> None:
    with urllib.request.urlopen(f"{served.url}/api/v1/openapi.json", timeout=5) as reply:  # noqa: S310 (loopback)
        served_spec = json.loads(reply.read())
    assert served_spec == json.loads(json.dumps(spec()))
    http = served.daemon.http
    assert http is not None
    assert http.app is not None
    assert undocumented(http.app) == []


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_the_api_answers_as_documented(case: schemathesis.Case[Any], served: Served) -> None:
    case.call_and_validate(
        base_url=served.url,
        headers={"Authorization": f"Bearer {served.token}"},
        checks=CHECKS,
        timeout=REQUEST_TIMEOUT,
    )
