"""A running daemon publishes its transitions on the real Mosquitto, and reacts to real SNMP traps."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from netmon.inventory import schema
from netmon.lab.faults import FaultLab, Site, available
from netmon.monitor.state import State
from tests.conftest import AgentUnderTest, free_udp_port, lab_profiles
from tests.integration.test_daemon import INVENTORY, _profiles
from tests.integration.test_scenarios import _inventory as site_inventory
from tests.monitoring import FAST, import_inventory, monitor_config, running
from tests.mqtt import clear_retained, subscribed


async def test_every_transition_is_one_event_and_a_late_subscriber_gets_the_state(
    db_url: str, tmp_path: Path, snmp_agent: AgentUnderTest
) -> None:
    profiles = _profiles(snmp_agent)
    import_inventory(db_url, INVENTORY, tmp_path, profiles)
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    config = monitor_config(db_url, profiles, mqtt={"enabled": True, "topic_prefix": prefix})
    async with subscribed(f"{prefix}/events/#") as events:
        async with running(config) as daemon:
            async with asyncio.timeout(30):
                await daemon.wait_until(
                    lambda: all(s is State.UP for s in daemon.live.states("device").values()) and daemon.flushed
                )
            mqtt = daemon.mqtt
            assert mqtt is not None
            assert mqtt.connected
        # stopped: every transition is written, and the publisher drained the outbox on its way out
        engine = schema.create_engine(db_url)
        try:
            with engine.connect() as conn:
                # a fresh database: each object's first recorded change is its first judgement, which has no event
                count = "select count(*) - count(distinct object_kind || ':' || object_name) from state_changes"
                recorded = int(conn.execute(sa.text(count)).scalar() or 0)
                judged = int(conn.execute(sa.text("select count(*) from state_changes")).scalar() or 0)
                pending = int(conn.execute(sa.text("select count(*) from mqtt_outbox")).scalar() or 0)
        finally:
            engine.dispose()
        assert pending == 0
        await events.until(lambda got: sum(m.topic.endswith("/transition") for m in got) >= recorded, within=15)
    transitions = [m for m in events.messages if m.topic == f"{prefix}/events/transition"]
    assert judged > recorded  # the start judged every object
    assert len(transitions) == recorded  # one event per later transition, none twice
    assert len({m.payload["id"] for m in transitions}) == recorded
    assert {m.payload["schema"] for m in transitions} <= {1}
    assert all(m.payload["old"] != "unknown" for m in transitions)  # no unknown→up flood at start (issue 12)
    async with subscribed(f"{prefix}/state/#") as late:
        await late.until(lambda got: len(got) >= 8)  # 5 devices and 3 links (w1-internet has no state yet)
    states = {m.topic.removeprefix(f"{prefix}/state/"): m.payload["state"] for m in late.messages}
    assert states["device/d1-r1"] == "up"
    assert states["link/p-lan"] == "up"
    assert sorted(states) == [
        "device/d1-r1", "device/d1-sw1", "device/p-r1", "device/w1-r1", "device/w1-vc1",
        "link/d1-man", "link/p-lan", "link/w1-tslcd",
    ]  # fmt: skip
    assert all(m.retain for m in late.messages)
    await clear_retained([m.topic for m in late.messages])


@pytest.mark.skipif(available() is not None, reason=str(available()))
async def test_a_linkdown_trap_triggers_a_poll_that_confirms_it(
    db_url: str, tmp_path: Path, snmp_agent: AgentUnderTest
) -> None:
    site_profiles = lab_profiles(161)
    profiles = {"v2c": snmp_agent.profiles["v2c"], "site": site_profiles["v2c"]}
    polling: dict[str, Any] = {**FAST["polling"], "snmp": {"interval": 600, "timeout": 1.0, "retries": 1}}
    with FaultLab(tmp_path / "faults") as lab:
        site = lab.add_site(70, profiles=site_profiles, hosts=3, ports=("port1",))
        host = site.address.rsplit(".", 1)[0] + ".1"  # the host end of the site's link
        trap_port = free_udp_port(host)
        import_inventory(db_url, site_inventory(site), tmp_path, profiles)
        config = monitor_config(
            db_url, profiles, polling=polling, traps={"enabled": True, "listen": f"{host}:{trap_port}"}
        )
        port = ("interface", "d1-r1:port1")
        async with running(config) as daemon:
            await asyncio.to_thread(_trap, site, trap_port, "t-community", "linkUp")
            async with asyncio.timeout(15):
                await daemon.wait_until(lambda: daemon.live.state_of(port).state is State.UP)
            rounds = daemon.live.rounds["snmp"]
            lab.port(site, "port1", up=False)
            await asyncio.to_thread(_trap, site, trap_port, "t-community", "linkDown")
            async with asyncio.timeout(15):  # the SNMP round is every 600 s: only the trap's poll can do this
                await daemon.wait_until(lambda: daemon.live.state_of(port).state is State.DOWN)
            assert daemon.live.rounds["snmp"] == rounds
            await asyncio.to_thread(_trap, site, trap_port, "wrong-community", "linkUp")
            traps = daemon.traps
            assert traps is not None
            async with asyncio.timeout(15):
                await daemon.wait_until(lambda: traps.counts["bad_community"] >= 1)
            assert traps.counts["accepted"] == 2
            assert daemon.live.state_of(port).state is State.DOWN  # a rejected trap triggers nothing


#: Numeric OIDs: Debian's snmp package ships without the IF-MIB module (snmp-mibs-downloader is non-free).
TRAPS = {"linkDown": "1.3.6.1.6.3.1.1.5.3", "linkUp": "1.3.6.1.6.3.1.1.5.4"}


def _trap(site: Site, port: int, community: str, name: str) -> None:
    """Send a real trap from inside the site's namespace to the host end of its link."""
    host = site.address.rsplit(".", 1)[0] + ".1"
    done = subprocess.run(
        ["ip", "netns", "exec", site.namespace, "snmptrap", "-v", "2c", "-c", community, f"{host}:{port}", "",
         TRAPS[name], "1.3.6.1.2.1.2.2.1.1.3", "i", "3"],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
