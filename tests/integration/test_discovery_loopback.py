"""Discovery on loopback: the loopback lab's agents (127.x.y.z) are found, the station's 127.0.0.1 is not.

Every 127.0.0.0/8 address binds on Linux, so "the station's own addresses are left out" once left
out every loopback agent, and discovery on the loopback lab found nothing (a newcomer run).
"""

from __future__ import annotations

import asyncio

from netmon.config import Config
from netmon.discovery.run import discover, is_local
from netmon.discovery.snmpread import Reader
from netmon.discovery.sweep import parse_networks
from netmon.inventory.spec import Inventory
from netmon.pollers.share import LoopShare
from tests.conftest import AGENT_SYS_NAME, AgentUnderTest


def test_a_loopback_agent_is_discovered_and_the_station_is_not(snmp_agent: AgentUnderTest) -> None:
    assert (is_local("127.0.0.1"), is_local("::1"), is_local(snmp_agent.address)) == (True, True, False)
    config = Config.model_validate(
        {
            "snmp_profiles": {"v2c": snmp_agent.profiles["v2c"]},
            "discovery": {"allowed": [f"{snmp_agent.address}/32", "127.0.0.1/32"]},
        }
    )
    empty = Inventory(units={}, devices={}, links={})
    networks = parse_networks([f"{snmp_agent.address}/32", "127.0.0.1/32"])
    found = asyncio.run(discover(config, empty, networks, profiles=["v2c"]))
    assert found.answered == (snmp_agent.address,)  # 127.0.0.1 answers the ping too, and is left out
    [host] = found.found.values()
    assert host.identity is not None
    assert host.identity.sys_name == AGENT_SYS_NAME


async def test_a_discovery_walk_takes_turns_of_the_loop_share(snmp_agent: AgentUnderTest) -> None:
    # a topology poll walks every SNMP device at once: its replies must queue as a poll round's do
    share = LoopShare.of()
    before = share.turns
    rows = await Reader(snmp_agent.address, snmp_agent.profiles["v2c"]).walk("1.3.6.1.2.1", max_rows=45)
    assert len(rows) == 45
    assert share.turns - before >= 1 + 45 // 20  # one before the walk, then about one per request
