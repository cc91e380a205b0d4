"""Scenarios against the fault lab: a district behind a veth uplink in its own namespace.

The province router is the session's loopback agent; the district router (with its own snmpd)
and the ward devices sit in a namespace behind one veth link (198.18.N.0/24). Skipped where
namespaces cannot be made.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from netmon.config import Config, SnmpProfile
from netmon.daemon import Daemon
from netmon.lab.faults import FaultLab, Site, available
from netmon.monitor.availability import object_seconds
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State
from tests.conftest import AgentUnderTest, free_tcp_port, lab_profiles
from tests.monitoring import import_inventory, make_token, monitor_config, running, write_config

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

SITE_PROFILES = lab_profiles(161)
ROUND = 1.0  # the test config's ping interval (seconds)
BEHIND = [
    ("device", "d1-r1"),
    ("device", "d1-sw1"),
    ("device", "w1-r1"),
    ("device", "w1-vc1"),
    ("link", "w1-tslcd"),
    ("link", "d1-lan"),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultLab]:
    with FaultLab(tmp_path_factory.mktemp("scenarios")) as fault_lab:
        yield fault_lab


@pytest.fixture
def site(lab: FaultLab) -> Site:
    return lab.add_site(len(lab.sites) + 1, profiles=SITE_PROFILES, hosts=3, ports=("port1",))


def _inventory(site: Site) -> str:
    sw, ward_router, vc = site.hosts
    return f"""
units:
  - {{code: P, name: Tỉnh Thử, level: province, staff: 10}}
  - {{code: P-D1, name: Huyện Một, level: district, parent: P, staff: 5}}
  - {{code: P-D1-W1, name: Xã Một, level: ward, parent: P-D1, staff: 2}}
devices:
  - {{name: p-r1, unit: P, role: router, address: 127.77.0.1, snmp: v2c}}
  - {{name: d1-r1, unit: P-D1, role: router, address: {site.address}, parent: p-r1, snmp: site}}
  - {{name: d1-sw1, unit: P-D1, role: switch, address: {sw}, parent: d1-r1}}
  - {{name: w1-r1, unit: P-D1-W1, role: router, address: {ward_router}, parent: d1-r1}}
  - {{name: w1-vc1, unit: P-D1-W1, role: vc_endpoint, address: {vc}, parent: w1-r1}}
links:
  - {{name: d1-man, kind: man, unit: P-D1, device: d1-r1, interface: {site.site_link}, capacity_mbps: 1000}}
  - {{name: d1-lan, kind: lan, unit: P-D1, device: d1-r1, interface: port1, capacity_mbps: 1000}}
  - {{name: w1-tslcd, kind: tslcd, unit: P-D1-W1, device: w1-r1, capacity_mbps: 20}}
"""


def _profiles(agent: AgentUnderTest) -> dict[str, SnmpProfile]:
    return {"v2c": agent.profiles["v2c"], "site": SITE_PROFILES["v2c"]}


@pytest.fixture
def config(db_url: str, tmp_path: Path, site: Site, snmp_agent: AgentUnderTest) -> Config:
    profiles = _profiles(snmp_agent)
    import_inventory(db_url, _inventory(site), tmp_path, profiles)
    return monitor_config(db_url, profiles)


def _state(daemon: Daemon, kind: str, name: str) -> State:
    return daemon.live.state_of((kind, name)).state


def _all(daemon: Daemon, state: State, keys: list[tuple[str, str]]) -> bool:
    return all(daemon.live.state_of(key).state is state for key in keys)


async def _settled(daemon: Daemon, predicate: Any) -> None:
    """Wait (30 s at most) until *predicate* holds and every transition so far is written."""
    async with asyncio.timeout(30):
        await daemon.wait_until(lambda: predicate() and daemon.flushed)


async def test_an_uplink_cut_is_one_outage_and_its_end_is_within_a_round(
    lab: FaultLab, site: Site, config: Config
) -> None:
    everything = [("device", "p-r1"), ("link", "d1-man"), *BEHIND]
    async with running(config) as daemon:
        await _settled(daemon, lambda: _all(daemon, State.UP, everything))
        cut = time.monotonic()
        lab.link(site, up=False)
        await _settled(
            daemon, lambda: _state(daemon, "link", "d1-man") is State.DOWN and _all(daemon, State.UNREACHABLE, BEHIND)
        )
        assert _state(daemon, "device", "p-r1") is State.UP
        ledger = OutageLedger(daemon.engine)
        opened = await asyncio.to_thread(ledger.outages, open_only=True)
        assert [(o.name, o.cause) for o in opened if o.cause == "down"] == [("d1-man", "down")]
        assert {(o.kind, o.name) for o in opened if o.cause == "unreachable"} == set(BEHIND)
        assert {o.root_cause for o in opened if o.cause == "unreachable"} == {"d1-man"}
        restored = time.monotonic()
        lab.link(site, up=True)
        await _settled(daemon, lambda: _all(daemon, State.UP, everything))
        outages = await asyncio.to_thread(ledger.outages)
    assert not [o for o in outages if o.ended_at is None]
    (down,) = [o for o in outages if o.cause == "down"]
    assert down.name == "d1-man"
    assert down.duration is not None
    assert abs(down.duration - (restored - cut)) <= ROUND + 0.5, (down.duration, restored - cut)


async def test_a_flapping_interface_is_marked_flapping(lab: FaultLab, site: Site, config: Config) -> None:
    port = ("interface", "d1-r1:port1")
    async with running(config) as daemon:
        await _settled(daemon, lambda: _state(daemon, *port) is State.UP)
        for up in (False, True, False):  # unknown→up, then three changes: more than flap_changes=3
            lab.port(site, "port1", up=up)
            await _settled(daemon, lambda up=up: _state(daemon, *port) is (State.UP if up else State.DOWN))
        assert daemon.live.state_of(port).flapping
        assert daemon.http is not None
        text = await asyncio.to_thread(_metrics, daemon.http.url)
        assert 'netmon_interface_flapping{device="d1-r1",interface="port1",level="district",unit="P-D1"} 1.0' in text
        assert _state(daemon, "device", "d1-r1") is State.UP  # the device is fine: only its port flaps


async def test_a_maintenance_window_holds_alerts_and_keeps_availability(
    lab: FaultLab, site: Site, config: Config
) -> None:
    district = [("device", "d1-r1"), ("link", "d1-man"), ("device", "d1-sw1"), ("link", "d1-lan"), *BEHIND[2:]]
    async with running(config) as daemon:
        await _settled(daemon, lambda: _all(daemon, State.UP, district))
        started = datetime.now(UTC)
        window = {"name": "nâng cấp", "objects": ["unit:P-D1"], "ends_at": (started + timedelta(hours=1)).isoformat()}
        assert (await asyncio.to_thread(_request, daemon, "POST", "/api/v1/maintenance", window))[0] == 201
        await _settled(daemon, lambda: _all(daemon, State.MAINTENANCE, district))
        lab.link(site, up=False)
        cut_round = daemon.live.rounds["ping"]
        await _settled(daemon, lambda: daemon.live.rounds["ping"] >= cut_round + 4)  # well past down_after
        assert _all(daemon, State.MAINTENANCE, district)
        assert daemon.live.open_outages().get(("link", "down"), 0) == 0
        lab.link(site, up=True)
        (window_id,) = [w.id for w in daemon.live.schedule.windows()]
        assert (await asyncio.to_thread(_request, daemon, "DELETE", f"/api/v1/maintenance/{window_id}"))[0] == 200
        await _settled(daemon, lambda: _all(daemon, State.UP, district))
        engine = daemon.engine
        assert engine is not None
        with engine.connect() as conn:
            spent = object_seconds(conn, started - timedelta(minutes=5), datetime.now(UTC))
    for key in district:
        assert spent[key].down == 0, key
        assert spent[key].maintenance > 0, key
        assert spent[key].ratio == 1.0, key
    assert not [o for o in await asyncio.to_thread(OutageLedger(engine).outages) if o.cause == "down"]


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics/interfaces", timeout=5) as reply:  # noqa: S310 (loopback)
        return str(reply.read().decode())


def _request(daemon: Daemon, method: str, path: str, data: Any = None) -> tuple[int, Any]:
    assert daemon.http is not None
    token = make_token(daemon, name=f"test-{uuid.uuid4().hex[:8]}")
    return _http(f"{daemon.http.url}{path}", method, data, headers={"Authorization": f"Bearer {token}"})


def _http(url: str, method: str = "GET", data: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _until(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll *check* (an HTTP read) until it returns something truthy; fail after *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, urllib.error.URLError):
            result = None
        if result:
            return result
        time.sleep(0.1)  # polling an HTTP endpoint for a condition, bounded by the deadline
    pytest.fail(f"timed out waiting for {what}")


def test_sigkill_and_restart_mid_outage_loses_and_duplicates_nothing(
    lab: FaultLab, site: Site, config: Config, tmp_path: Path
) -> None:
    port = free_tcp_port()
    path = write_config(config, tmp_path / "netmon.yaml", http={"listen": f"127.0.0.1:{port}"})
    env = {**os.environ, "NETMON_CONFIG": str(path)}
    base = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "netmon", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def open_down() -> list[dict[str, Any]]:
        return list(_http(f"{base}/api/v1/outages?open=true&cause=down")[1]["outages"])

    def link_state() -> str:
        return str(_http(f"{base}/api/v1/links?kind=man")[1]["links"][0]["state"])

    first = start()
    try:
        _until(lambda: link_state() == "up", "the uplink up")
        cut = time.monotonic()
        lab.link(site, up=False)
        (before,) = _until(open_down, "the uplink's outage")
        first.kill()  # SIGKILL: no flush, no goodbye
        first.wait(timeout=10)
    finally:
        first.kill()
    second = start()
    try:
        _until(lambda: _http(f"{base}/readyz")[0] == 200, "the restarted daemon")
        assert open_down() == [before]  # the same outage, continued
        restored = time.monotonic()
        lab.link(site, up=True)
        _until(lambda: link_state() == "up" and not open_down(), "the uplink back")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=12) == 0
    finally:
        second.kill()
    engine = sa.create_engine(config.database.url.reveal().replace("postgresql://", "postgresql+psycopg://"))
    try:
        outages = OutageLedger(engine).outages()
    finally:
        engine.dispose()
    uplink = [o for o in outages if o.name == "d1-man"]
    assert [(o.id, o.cause) for o in uplink] == [(before["id"], "down")]
    assert uplink[0].duration is not None
    assert abs(uplink[0].duration - (restored - cut)) <= ROUND + 0.5
    assert not [o for o in outages if o.ended_at is None]
