"""Service checks in a running daemon: the http and tcp poll classes are scheduled from the registry
with the inventory's services as targets, and a service's state follows a real local web server.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from netmon.monitor.state import State
from tests.monitoring import import_inventory, monitor_config, running

#: One-second service checks; a check gives up after half a second.
FAST_CHECKS = {"interval": 1, "timeout": 0.5}


@asynccontextmanager
async def _web_server() -> AsyncIterator[tuple[int, web.AppRunner]]:
    """Serve `GET /` (200 "netmon ok") on a free loopback port; yield the port and the runner (stop it early)."""

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text="netmon ok")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield port, runner
    finally:
        await runner.cleanup()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 (loopback)
        return str(reply.read().decode())


async def test_a_running_daemon_checks_services_and_follows_the_server(db_url: str, tmp_path: Path) -> None:
    async with _web_server() as (port, runner):
        inventory = f"""
units:
  - {{code: P, name: Tỉnh Thử, level: province, staff: 10}}
services:
  - {{name: portal, unit: P, check: http, url: "http://127.0.0.1:{port}/", body_match: "netmon ok"}}
  - {{name: portal-port, unit: P, check: tcp, address: "127.0.0.1:{port}"}}
"""
        import_inventory(db_url, inventory, tmp_path, {})
        polling = {"http": FAST_CHECKS, "tcp": FAST_CHECKS, "concurrency": 8}
        config = monitor_config(db_url, {}, polling=polling)
        async with running(config) as daemon:
            assert daemon.http is not None
            live = daemon.live

            def both(state: State) -> bool:
                return all(live.state_of(("service", name)).state is state for name in ("portal", "portal-port"))

            async with asyncio.timeout(20):
                await daemon.wait_until(lambda: both(State.UP))
            metrics = await asyncio.to_thread(_get, f"{daemon.http.url}/metrics")
            api = json.loads(await asyncio.to_thread(_get, f"{daemon.http.url}/api/v1/services"))
            stats = daemon.runtime.stats()

            await runner.cleanup()  # the server goes away: connections are refused
            async with asyncio.timeout(20):
                await daemon.wait_until(lambda: both(State.DOWN))
            down = live.services

    assert (stats["http"].interval, stats["tcp"].interval) == (1, 1)
    assert stats["http"].rounds >= 1
    assert stats["tcp"].rounds >= 1
    assert 'netmon_probe_success{check="http",level="province",service="portal",unit="P"} 1.0' in metrics
    assert 'netmon_service_up{check="tcp",level="province",service="portal-port",unit="P"} 1.0' in metrics
    assert 'netmon_probe_http_status_code{check="http",level="province",service="portal",unit="P"} 200.0' in metrics
    rows = {row["name"]: row for row in api["services"]}
    assert rows["portal"]["state"] == "up"
    assert rows["portal"]["last_check"]["http_status"] == 200
    assert rows["portal-port"]["last_check"]["status"] == "ok"
    assert {name: sample.status.value for name, sample in down.items()} == {
        "portal": "refused",
        "portal-port": "refused",
    }
