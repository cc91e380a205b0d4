"""`netmon run` on loopback: /metrics (checked by promtool), health, the API, maintenance, SIGTERM, restart."""

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netmon.config import SnmpProfile
from netmon.daemon import Daemon
from netmon.monitor.availability import object_seconds
from netmon.monitor.state import State
from tests.conftest import AgentUnderTest, free_tcp_port
from tests.monitoring import import_inventory, make_token, monitor_config, running, write_config
from tests.prom import promtool_check_metrics

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
  - {code: P-D1, name: Huyện Một, level: district, parent: P, staff: 5}
  - {code: P-D1-W1, name: Xã Một, level: ward, parent: P-D1, staff: 2}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.0.1, snmp: v2c}
  - {name: d1-r1, unit: P-D1, role: router, address: 127.78.1.1, parent: p-r1}
  - {name: d1-sw1, unit: P-D1, role: switch, address: 127.78.1.2, parent: d1-r1, snmp: nowhere}
  - {name: w1-r1, unit: P-D1-W1, role: router, address: 127.78.2.1, parent: d1-r1}
  - {name: w1-vc1, unit: P-D1-W1, role: vc_endpoint, address: 127.78.2.20, parent: w1-r1}
links:
  - {name: p-lan, kind: lan, unit: P, device: p-r1, interface: lo, capacity_mbps: 1000}
  - {name: d1-man, kind: man, unit: P-D1, device: d1-r1, capacity_mbps: 1000}
  - {name: w1-tslcd, kind: tslcd, unit: P-D1-W1, device: w1-r1, capacity_mbps: 20}
  - {name: w1-internet, kind: internet, unit: P-D1-W1, capacity_mbps: 100}
"""


def _profiles(agent: AgentUnderTest) -> dict[str, SnmpProfile]:
    closed = agent.profiles["v2c"].model_copy(update={"port": 9})  # nothing listens: refused
    return {"v2c": agent.profiles["v2c"], "nowhere": closed}


@pytest.fixture
def config_for(db_url: str, tmp_path: Path, snmp_agent: AgentUnderTest) -> Any:
    profiles = _profiles(snmp_agent)
    import_inventory(db_url, INVENTORY, tmp_path, profiles)
    return lambda **sections: monitor_config(db_url, profiles, **sections)


def _get(daemon: Daemon, path: str) -> tuple[int, Any]:
    assert daemon.http is not None
    try:
        with urllib.request.urlopen(f"{daemon.http.url}{path}", timeout=5) as reply:  # noqa: S310 (loopback)
            body = reply.read()
            status = reply.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, body.decode() if path.startswith("/metrics") else json.loads(body)


async def _fetch(daemon: Daemon, path: str) -> tuple[int, Any]:
    return await asyncio.to_thread(_get, daemon, path)


def _all_up(daemon: Daemon) -> bool:
    states = daemon.live.states("device")
    return bool(states) and all(s is State.UP for s in states.values())


def _ward_has_lan(daemon: Daemon) -> bool:
    return ("lan_units", "P-D1-W1", "commune", 1, 1) in daemon.indicator_gauges()


async def test_metrics_pass_promtool_and_carry_the_inventory(config_for: Any, tmp_path: Path) -> None:
    async with running(config_for()) as daemon:
        async with asyncio.timeout(20):
            await daemon.wait_until(
                lambda: _all_up(daemon) and bool(daemon.live.interfaces_of("p-r1")) and _ward_has_lan(daemon)
            )
        status, text = await _fetch(daemon, "/metrics")
        interfaces_status, interfaces = await _fetch(daemon, "/metrics/interfaces")
        gauges = daemon.indicator_gauges()
    assert status == 200
    assert 'netmon_device_up{device="d1-r1",level="district",role="router",unit="P-D1"} 1.0' in text
    vc_state = 'netmon_device_state{device="w1-vc1",level="commune",role="vc_endpoint",state="up",unit="P-D1-W1"} 1.0'
    assert vc_state in text
    assert 'netmon_snmp_up{device="d1-sw1",level="district",role="switch",unit="P-D1"} 0.0' in text
    inet_state = 'netmon_link_state{kind="internet",level="commune",link="w1-internet",state="unknown",unit="P-D1-W1"}'
    assert f"{inet_state} 1.0" in text
    # one state series per object (its current state, value 1), not one per possible state
    assert _state_series(text, "device") == {name: ["up"] for name in ("p-r1", "d1-r1", "d1-sw1", "w1-r1", "w1-vc1")}
    assert sorted(_state_series(text, "link")) == ["d1-man", "p-lan", "w1-internet", "w1-tslcd"]
    assert all(len(states) == 1 for states in _state_series(text, "link").values())
    assert 'netmon_unit_info{level="commune",name="Xã Một",parent="P-D1",unit="P-D1-W1"} 1.0' in text
    assert 'netmon_poll_samples_total{poll_class="snmp",status="refused"}' in text
    # metrics.indicators: level (the default): a and b summed over the level's units
    rows = [row for row in gauges if row[0] == "lan_units" and row[2] == "commune"]
    a, b = sum(row[3] for row in rows), sum(row[4] or 0.0 for row in rows)
    assert f'netmon_indicator_numerator{{indicator="lan_units",level="commune"}} {float(a)}' in text
    assert f'netmon_indicator_ratio{{indicator="lan_units",level="commune"}} {a / b}' in text
    assert 'unit="P-D1-W1"} ' not in text.split("netmon_indicator_ratio", 1)[1]  # no per-unit series
    assert "netmon_interface_" not in text  # metrics.interfaces_path: separate (the default)
    assert await asyncio.to_thread(promtool_check_metrics, text) == (0, "")
    assert interfaces_status == 200
    assert 'netmon_interface_oper_up{device="p-r1",interface="lo",level="province",unit="P"} 1.0' in interfaces
    assert "netmon_interface_received_bytes_total{" in interfaces
    assert "netmon_device_up" not in interfaces
    assert await asyncio.to_thread(promtool_check_metrics, interfaces) == (0, "")


def _state_series(text: str, kind: str) -> dict[str, list[str]]:
    """Return the `state` label of every `netmon_KIND_state` series, per object."""
    found: dict[str, list[str]] = {}
    for family in text_string_to_metric_families(text):
        if family.name == f"netmon_{kind}_state":
            for sample in family.samples:
                assert sample.value == 1, sample
                found.setdefault(sample.labels[kind], []).append(sample.labels["state"])
    return found


async def test_health_readiness_and_the_api(config_for: Any) -> None:
    async with running(config_for()) as daemon:
        assert (await _fetch(daemon, "/healthz"))[0] == 200
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: _all_up(daemon))
        assert await _fetch(daemon, "/readyz") == (200, {"status": "ready"})
        status, body = await _fetch(daemon, "/api/v1/devices?unit=P-D1&role=router")
        assert status == 200
        assert sorted(d["name"] for d in body["devices"]) == ["d1-r1", "w1-r1"]  # the ward is below the district
        assert {d["state"] for d in body["devices"]} == {"up"}
        status, body = await _fetch(daemon, "/api/v1/links?kind=tslcd")
        found = [(link["name"], link["state"], link["level"]) for link in body["links"]]
        assert found == [("w1-tslcd", "up", "commune")]
        open_now = (await _fetch(daemon, "/api/v1/outages?open=true"))[1]
        assert (open_now["outages"], open_now["count"], open_now["total"], open_now["next"]) == ([], 0, 0, None)
        status, body = await _fetch(daemon, "/api/v1/devices?level=village")
        assert status == 400
        assert "level" in body["error"]
        status, body = await _fetch(daemon, "/api/v1/outages?since=yesterday")
        assert (status, "since" in body["error"]) == (400, True)
        status, body = await _fetch(daemon, "/api/v1/outages?since=1000000d")  # was a 500: OverflowError
        assert (status, body["error"].startswith("since: ")) == (400, True)
        for name, typo in (("cause", "dwon"), ("kind", "interface")):  # was a 200 with no outages
            status, body = await _fetch(daemon, f"/api/v1/outages?{name}={typo}")
            assert (status, body["error"].split(":")[0], typo in body["error"]) == (400, name, True)
        assert (await _fetch(daemon, "/api/v1/outages?cause=down&kind=link"))[0] == 200
        status, body = await _fetch(daemon, "/api/v1/indicators?period=live&level=commune")
        assert status == 200
        lan = [r for r in body["indicators"] if r["indicator"] == "lan_units" and r["unit"] == "P-D1-W1"]
        assert [(r["a"], r["b"], r["ratio"], r["source"]) for r in lan] == [(1, 1, 1.0, "live monitoring")]
        status, body = await _fetch(daemon, f"/api/v1/indicators?period={datetime.now(UTC).year}")
        assert status == 200
        assert body["count"] > 0
        status, body = await _fetch(daemon, "/api/v1/indicators?period=2026-13")
        assert status == 400
        assert "2026-13" in body["error"]


def _post(daemon: Daemon, path: str, data: dict[str, Any]) -> tuple[int, Any]:
    assert daemon.http is not None
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{daemon.http.url}{path}",
        data=json.dumps(data).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {make_token(daemon, name='test-post-' + uuid.uuid4().hex[:8])}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310 (loopback)
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_an_api_maintenance_window_applies_survives_a_restart_and_is_not_downtime(config_for: Any) -> None:
    config = config_for()
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with running(config) as daemon:
        bad = await asyncio.to_thread(
            _post, daemon, "/api/v1/maintenance", {"name": "x", "objects": ["unit:NOPE"], "ends_at": ends}
        )
        assert bad[0] == 400
        assert "unit:NOPE" in bad[1]["error"]
        window = {"name": "thay thiết bị", "objects": ["unit:P-D1-W1"], "ends_at": ends, "reason": "swap"}
        status, stored = await asyncio.to_thread(_post, daemon, "/api/v1/maintenance", window)
        assert status == 201
        assert stored["id"] is not None
        ward = [("device", "w1-r1"), ("device", "w1-vc1"), ("link", "w1-tslcd"), ("link", "w1-internet")]
        async with asyncio.timeout(20):
            await daemon.wait_until(
                lambda: all(daemon.live.state_of(k).state is State.MAINTENANCE for k in ward) and daemon.recorded > 1
            )
        assert daemon.live.state_of(("device", "d1-r1")).state is State.UP
    async with running(config) as daemon:  # the window is in the database: it still applies
        assert [w.name for w in daemon.live.schedule.windows()] == ["thay thiết bị"]
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: daemon.live.rounds["ping"] >= 2)
        assert daemon.live.state_of(("device", "w1-vc1")).state is State.MAINTENANCE
        _, listed = await _fetch(daemon, "/api/v1/outages?cause=maintenance&unit=P-D1-W1")
        assert {o["name"] for o in listed["outages"]} == {"w1-r1", "w1-vc1", "w1-tslcd", "w1-internet"}
        engine = daemon.engine
        assert engine is not None
        with engine.connect() as conn:
            spent = object_seconds(conn, datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    assert spent[("device", "w1-vc1")].down == 0
    assert spent[("device", "w1-vc1")].maintenance > 0


def _netmon(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netmon", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_sigterm_stops_gracefully_with_exit_code_0(config_for: Any, tmp_path: Path) -> None:
    path = write_config(config_for(), tmp_path / "netmon.yaml")  # the fast config listens on port 0
    env = {**os.environ, "NETMON_CONFIG": str(path)}
    process = _netmon("run", env=env)
    assert process.stdout is not None
    started = datetime.now(UTC)
    for line in process.stdout:  # logs go to stdout, a line per round at least: never stuck for long
        if "first round done" in line:
            break
        assert datetime.now(UTC) - started < timedelta(seconds=30), "no first round within 30 s"
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=12)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopping" in out
    assert "Traceback" not in out + err


def _api(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=5) as reply:  # noqa: S310 (loopback)
        return json.loads(reply.read())


def _poll(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while datetime.now(UTC) < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.1)  # polling an HTTP endpoint for a condition, bounded by the deadline
    pytest.fail(f"timed out waiting for {what}")


def test_sighup_reloads_the_inventory_and_config_keeping_state(
    config_for: Any, tmp_path: Path, db_url: str, snmp_agent: AgentUnderTest
) -> None:
    port = free_tcp_port()
    config = config_for(http={"listen": f"127.0.0.1:{port}"})
    path = tmp_path / "netmon.yaml"
    window = {"name": "gỡ bỏ", "objects": ["device:w1-vc1"], "start": "2026-01-01T00:00:00+07:00",
              "end": "2099-01-01T00:00:00+07:00"}  # fmt: skip
    write_config(config, path, maintenance=[window])
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NETMON_CONFIG": str(path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "netmon", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        _poll(lambda: _api(base, "/api/v1/outages?open=true&cause=maintenance")["count"] == 1, "the window")
        before = {d["name"]: d["since"] for d in _api(base, "/api/v1/devices")["devices"]}
        (tmp_path / "bad.yaml").write_text("polling: [", encoding="utf-8")
        path.rename(tmp_path / "good.yaml")
        (tmp_path / "bad.yaml").rename(path)
        process.send_signal(signal.SIGHUP)  # a broken config: nothing changes, the daemon keeps running
        assert process.stdout is not None
        seen: list[str] = []
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while not any("reload failed" in line for line in seen):  # the daemon logs every round: never stuck
            seen.append(process.stdout.readline())
            assert datetime.now(UTC) < deadline, "no reload failure logged"
        (tmp_path / "good.yaml").rename(path)
        inventory = INVENTORY.replace(
            "  - {name: w1-vc1, unit: P-D1-W1, role: vc_endpoint, address: 127.78.2.20, parent: w1-r1}\n", ""
        )
        inventory = inventory.replace(
            "links:", "  - {name: w1-sw1, unit: P-D1-W1, role: switch, address: 127.78.2.2, parent: w1-r1}\nlinks:"
        )
        (tmp_path / "new.yaml").write_text(inventory, encoding="utf-8")
        imported = subprocess.run(
            [sys.executable, "-m", "netmon", "inventory", "import", "--prune", str(tmp_path / "new.yaml")],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        write_config(config, path)  # the window named the removed device: it goes too
        process.send_signal(signal.SIGHUP)
        devices = _poll(
            lambda: (
                (d := {x["name"]: x for x in _api(base, "/api/v1/devices")["devices"]}).get("w1-sw1", {}).get("state")
                == "up"
                and d
            ),
            "the added device up",
        )
        assert "w1-vc1" not in devices
        assert {n: d["since"] for n, d in devices.items() if n != "w1-sw1"} == {
            n: s for n, s in before.items() if n != "w1-vc1"
        }  # states kept: nothing restarted from unknown
        closed = _poll(lambda: _api(base, "/api/v1/outages?cause=maintenance")["outages"], "the closed outage")
        assert [(o["name"], o["ended_at"] is not None, o["end_cause"]) for o in closed] == [("w1-vc1", True, "removed")]
        audit = _api(base, "/api/v1/audit")["entries"]  # each SIGHUP is audited once, the failed reload's too
        assert [(e["actor"], e["action"], e["target"], e["source"]) for e in audit] == [
            ("signal:SIGHUP", "reload", "config", "local")
        ] * 2
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=12)[0]
    finally:
        process.kill()
    assert process.returncode == 0
    lines = [json.loads(line) for line in [*seen, *out.splitlines()] if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "reload failed; the running config and inventory stay" in events
    (reloaded,) = [line for line in lines if line["event"] == "reloaded"]
    assert reloaded["removed"] == ["device:w1-vc1"]
    assert reloaded["added_devices"] == 1
    audited = [line for line in lines if line["event"] == "audit"]
    assert [(a["actor"], a["action"], a["source"]) for a in audited] == [("signal:SIGHUP", "reload", "local")] * 2
