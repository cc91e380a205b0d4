"""Service checks end to end without the scheduler: real checks → live state → /metrics families → promtool.

The checks run against the aiohttp servers of tests/webservers.py and a closed port; the
exposition goes through netmon's own exposition (what /metrics serves) and `promtool check
metrics`; staleness through the same exposition, judged later than the freshness window.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from netmon.api.http import HttpServer
from netmon.config import Config, HttpConfig
from netmon.inventory.models import Level, Role, ServiceCheck
from netmon.inventory.spec import DeviceSpec, Inventory, ServiceSpec, UnitSpec
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.rounds import RoundResult
from netmon.pollers.base import Sample, utcnow
from netmon.pollers.http import HttpCheck
from netmon.pollers.service import ServiceTarget, service_targets
from netmon.pollers.tcp import TcpCheck
from netmon.sinks.exposition import Exposition
from netmon.sinks.prometheus import LiveCollector
from netmon.sinks.sections import sections
from tests.conftest import free_tcp_port
from tests.prom import promtool_check_metrics
from tests.webservers import Servers, serving

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    async with serving(tmp_path) as running:
        yield running


def _inventory(servers: Servers, closed: int) -> Inventory:
    units = [
        UnitSpec(code="LG", name="Tỉnh Lâm Giang", level=Level.PROVINCE),
        UnitSpec(code="LG-VP", name="Văn phòng UBND tỉnh", level=Level.DEPARTMENT, parent="LG"),
    ]
    devices = [DeviceSpec(name="srv1", unit="LG", role=Role.SERVER, address="127.0.0.1")]
    services = [
        ServiceSpec(
            name="cong-thong-tin",
            unit="LG",
            device="srv1",
            check=ServiceCheck.HTTP,
            url=servers.tls + "/",
            tls_verify=False,
            body_match="Lâm Giang",
        ),
        ServiceSpec(name="mot-cua", unit="LG-VP", check=ServiceCheck.HTTP, url=servers.plain + "/down"),
        ServiceSpec(name="smtp", unit="LG", check=ServiceCheck.TCP, address=f"127.0.0.1:{closed}"),
    ]
    return Inventory(
        units={u.code: u for u in units},
        devices={d.name: d for d in devices},
        links={},
        services={s.name: s for s in services},
    )


async def _round(live: LiveState, check: HttpCheck | TcpCheck, targets: list[ServiceTarget]) -> None:
    chosen = [t for t in targets if check.applies(t)]
    async with asyncio.timeout(max(check.deadline(t) for t in chosen)):
        polled = await asyncio.gather(*(check.poll(t) for t in chosen))
    samples: list[Sample] = [s for batch in polled for s in batch]
    live.record(samples)
    now = utcnow()
    live.conclude(RoundResult(poll_class=check.name, started=now, duration=0, samples=tuple(samples)), now)


async def _render(live: LiveState, *, later: float = 0.0) -> str:
    """Return what /metrics serves of *live*, judged *later* seconds from now."""
    now = utcnow() + timedelta(seconds=later)
    return (await Exposition(lambda: live, sections()).render(now=now)).decode()


def _values(text: str) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels["service"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "service" in sample.labels and "state" not in sample.labels
    }


def _states(text: str) -> dict[str, list[tuple[str, float]]]:
    """Return (state label, value) of every `netmon_service_state` series, per service."""
    found: dict[str, list[tuple[str, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "netmon_service_state":
            for sample in family.samples:
                found.setdefault(sample.labels["service"], []).append((sample.labels["state"], sample.value))
    return found


async def test_checks_become_blackbox_style_series_that_pass_promtool(servers: Servers) -> None:
    closed = free_tcp_port()
    inventory = _inventory(servers, closed)
    live = LiveState(Config(), inventory, MaintenanceSchedule(inventory, ZONE))
    targets = service_targets(inventory)
    for check in (HttpCheck(), TcpCheck()):
        await _round(live, check, targets)
    registry = CollectorRegistry()
    registry.register(LiveCollector(lambda: live, dict))  # what /metrics serves: the small families ...
    text = (generate_latest(registry) + await Exposition(lambda: live, sections()).render()).decode()  # ... and these
    values = _values(text)
    assert values[("netmon_probe_success", "cong-thong-tin")] == 1
    assert values[("netmon_probe_http_status_code", "cong-thong-tin")] == 200
    assert values[("netmon_probe_ssl_earliest_cert_expiry", "cong-thong-tin")] == servers.tls_not_after.timestamp()
    assert values[("netmon_probe_success", "mot-cua")] == 0
    assert values[("netmon_probe_http_status_code", "mot-cua")] == 503
    assert ("netmon_probe_ssl_earliest_cert_expiry", "mot-cua") not in values  # plain HTTP
    assert values[("netmon_probe_success", "smtp")] == 0
    assert ("netmon_probe_http_status_code", "smtp") not in values
    # the first answer decides a new object; a failure needs `down_after` rounds
    assert {name: values[("netmon_service_up", name)] for name in inventory.services} == {
        "cong-thong-tin": 1,
        "mot-cua": 0,
        "smtp": 0,
    }
    assert (
        'netmon_service_state{check="http",level="department",service="mot-cua",state="unknown",unit="LG-VP"} 1.0'
        in text
    )
    # one state series per service (its current state, value 1), not one per possible state
    assert _states(text) == {"cong-thong-tin": [("up", 1)], "mot-cua": [("unknown", 1)], "smtp": [("unknown", 1)]}
    assert 'netmon_inventory_objects{kind="service"} 3.0' in text
    assert await asyncio.to_thread(promtool_check_metrics, text) == (0, "")


async def test_a_stale_check_is_not_exported_as_current(servers: Servers) -> None:
    inventory = _inventory(servers, free_tcp_port())
    live = LiveState(Config(), inventory, MaintenanceSchedule(inventory, ZONE))
    await _round(live, HttpCheck(), service_targets(inventory, ServiceCheck.HTTP))
    window = HttpCheck.freshness(Config().polling.of("http")).total_seconds()
    assert _values(await _render(live))[("netmon_probe_success", "cong-thong-tin")] == 1
    stale = _values(await _render(live, later=window + 1))
    assert not any(name.startswith("netmon_probe_") for name, _ in stale)
    assert stale[("netmon_service_up", "cong-thong-tin")] == 1  # the state stays: the engine decides it


@dataclass
class _ApiBackend:
    """The part of the daemon's application service that the listing routes read."""

    live: LiveState
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def ready(self) -> list[str]:
        return []

    async def db_problem(self) -> str | None:
        return None


async def test_the_api_lists_services_with_their_last_check(servers: Servers) -> None:
    closed = free_tcp_port()
    inventory = _inventory(servers, closed)
    live = LiveState(Config(), inventory, MaintenanceSchedule(inventory, ZONE))
    await _round(live, HttpCheck(), service_targets(inventory, ServiceCheck.HTTP))
    config = HttpConfig(listen="127.0.0.1:0")
    async with (
        HttpServer(config, _ApiBackend(live)) as server,  # type: ignore[arg-type]
        aiohttp.ClientSession(trust_env=False) as session,
    ):

        async def get(path: str) -> tuple[int, Any]:
            async with asyncio.timeout(10), session.get(server.url + path) as response:
                return response.status, await response.json()

        status, body = await get("/api/v1/services")
        assert (status, body["count"]) == (200, 3)
        portal = next(row for row in body["services"] if row["name"] == "cong-thong-tin")
        assert (portal["check"], portal["unit"], portal["level"], portal["state"]) == ("http", "LG", "province", "up")
        assert portal["last_check"]["http_status"] == 200
        assert 4.99 < portal["last_check"]["cert_days_left"] <= 5.0
        smtp = next(row for row in body["services"] if row["name"] == "smtp")
        assert (smtp["address"], smtp["state"], smtp["last_check"]) == (f"127.0.0.1:{closed}", "unknown", None)
        status, body = await get("/api/v1/services?unit=LG-VP")
        assert [row["name"] for row in body["services"]] == ["mot-cua"]
        status, body = await get("/api/v1/services?check=tcp")
        assert [row["name"] for row in body["services"]] == ["smtp"]
        status, body = await get("/api/v1/services?unit=NOPE")
        assert status == 400
