"""Discovery against hand-written LLDP-MIB/CISCO-CDP-MIB agents (tests/agents, served by snmpsim).

Each behaviour is a data file (its sysDescr says which); the correct value is written here from
the MIB (IEEE 802.1AB-2005 LLDP-MIB, CISCO-CDP-MIB, BRIDGE-MIB RFC 4188), and netmon's neighbours,
edges and uplinks are checked against it. snmpsim answers every file on each of its addresses
(the community picks the file), so each test gives every device its own address.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from netmon.discovery.adjacency import Found
from netmon.discovery.identify import capabilities, guess
from netmon.discovery.neighbours import read_view
from netmon.discovery.snmpread import Reader, identify
from tests.conftest import Simulator

VERSIONS = ["v1", "v2c"]
A, B, C = "127.77.13.11", "127.77.13.12", "127.77.13.13"


async def discovered(sim: Simulator, hosts: Mapping[str, str], version: str) -> dict[str, Found]:
    """Identify each address with its data file's profile and read its view, as `identify_hosts` does."""
    found = {}
    for address, community in hosts.items():
        name = f"{community}-{version}"
        profile = sim.profiles(community)[name]
        identity = await identify(address, [(name, profile)])
        assert identity is not None, f"{community} did not answer on {address}"
        view = await read_view(Reader(address, profile))
        role = guess(
            sys_object_id=identity.sys_object_id,
            sys_descr=identity.sys_descr,
            lldp_capabilities=capabilities(identity.lldp_capabilities),
        )
        found[address] = Found(address=address, identity=identity, guess=role, view=view)
    return found


# ---- SNMPv1: one missing object of the system group must not hide the host ----------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_agent_without_sysservices_or_ifnumber_is_identified(snmpsim_agent: Simulator, version: str) -> None:
    """A v1 agent answers noSuchName for a whole GET naming one missing object (RFC 1157 4.1.2).

    Debian's stock snmpd view (FIELD-NOTES) and codecs serve the system group only: no ifNumber.0.
    """
    name = f"system-only-{version}"
    identity = await identify(A, [(name, snmpsim_agent.profiles("system-only")[name])])
    assert identity is not None
    got = (identity.sys_name, identity.sys_descr, identity.sys_object_id, identity.sys_services, identity.if_number)
    assert got == (
        "vc-hoi-truong",
        "Cisco TelePresence codec, system group only",
        "1.3.6.1.4.1.5596.150.6.4.1",
        None,
        None,
    )
