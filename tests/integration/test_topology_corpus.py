"""Discovery against hand-written LLDP-MIB/CISCO-CDP-MIB agents (tests/agents, served by snmpsim).

Each behaviour is a data file (its sysDescr says which); the correct value is written here from
the MIB (IEEE 802.1AB-2005 LLDP-MIB, CISCO-CDP-MIB, BRIDGE-MIB RFC 4188), and netmon's neighbours,
edges and uplinks are checked against it. snmpsim answers every file on each of its addresses
(the community picks the file), so each test gives every device its own address.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from netmon.discovery.adjacency import Found, Uplink, adjacency, match_remote, uplinks
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


# ---- a neighbour seen on two local ports (LAG members): each edge pairs the ports of one link ----


@pytest.mark.parametrize("version", VERSIONS)
async def test_two_links_to_one_neighbour_pair_their_own_ports(snmpsim_agent: Simulator, version: str) -> None:
    """dist-a ge1-xe1 acc-b and ge2-xe2: an edge never pairs ge1 with xe2 (a link that does not exist)."""
    found = await discovered(snmpsim_agent, {A: "lldp-parallel-a", B: "lldp-parallel-b"}, version)
    seen = {h: {(n.local_port, n.remote_port, n.remote_name) for n in found[h].view.neighbours} for h in (A, B)}  # type: ignore[union-attr]
    assert seen == {
        A: {("ge1", "xe1", "acc-b"), ("ge2", "xe2", "acc-b")},  # lldpRemTimeMark 3001 and 5000: still the index
        B: {("xe1", "ge1", "dist-a"), ("xe2", "ge2", "dist-a")},
    }
    (edge,) = adjacency(found)
    assert {(edge.a, edge.a_port), (edge.b, edge.b_port)} in (
        {(A, "ge1"), (B, "xe1")},
        {(A, "ge2"), (B, "xe2")},
    )
    assert uplinks(found, [edge], A) == {B: Uplink(parent=A, port="xe1", parent_port="ge1", speed_mbps=10000)}
    assert uplinks(found, [edge], B) == {A: Uplink(parent=B, port="ge1", parent_port="xe1", speed_mbps=1000)}


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


# ---- lldpRemChassisId of every subtype, three neighbours on one port ------------------------------

#: (local port, lldpRemChassisId as text, lldpRemPortId, lldpRemSysName) per LldpChassisIdSubtype
#: (IEEE 802.1AB-2005 9.5.2.2): networkAddress(5) is an IANA address family octet and the address,
#: macAddress(4) six octets, local(7) and interfaceName(6) text. Port 1 faces an unmanaged switch.
CHASSIS_KINDS = {
    ("GE1/0/1", "127.77.13.12", "1", None),
    ("GE1/0/1", "a0:36:9f:0a:0b:0c", "a0:36:9f:0a:0b:0d", None),  # lldpRemSysName "" is no name
    ("GE1/0/1", "SN-21980105863GC4000139", "eth0", "ap-hoi-truong"),
    ("GE1/0/2", "2001:db8::5", "Gi0/0", None),
    ("GE1/0/3", "br0", "lan1", "printer-p2"),
}


@pytest.mark.parametrize("version", VERSIONS)
async def test_chassis_ids_of_every_subtype(snmpsim_agent: Simulator, version: str) -> None:
    found = await discovered(snmpsim_agent, {A: "lldp-chassis-kinds", B: "system-only"}, version)
    view = found[A].view
    assert view is not None
    got = {(n.local_port, n.remote_chassis, n.remote_port, n.remote_name) for n in view.neighbours}
    assert got == CHASSIS_KINDS
    (by_address,) = [n for n in view.neighbours if n.remote_chassis == "127.77.13.12"]
    assert match_remote(by_address, found) == (B, "chassis id 127.77.13.12 (a network address)")
    assert [(e.a, e.a_port, e.b) for e in adjacency(found)] == [(A, "GE1/0/1", B)]


# ---- lldpLocPortNum of a bridge is its dot1dBasePort, not its ifIndex -----------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_bridge_names_local_ports_through_dot1d_base_port(snmpsim_agent: Simulator, version: str) -> None:
    """LLDP-MIB LldpPortNumber: on a bridge it "will have the same value as the dot1dBasePort object".

    Port 1 is dot1dBasePort 1 (ifIndex 10101, Gi1/0/1), not ifIndex 1 (Vl1); lldpLocPortId is a
    MAC and lldpLocPortDesc the operator's text, so only BRIDGE-MIB dot1dBasePortIfIndex tells.
    """
    found = await discovered(snmpsim_agent, {A: "lldp-bridge-ports"}, version)
    view = found[A].view
    assert view is not None
    assert {(n.local_port, n.remote_name, n.remote_port) for n in view.neighbours} == {
        ("Gi1/0/1", "core", "Gi0/3"),
        ("Gi1/0/2", "phone-2", "Fa0/1"),
    }
    assert view.ports == {"Vl1": 1000, "Gi1/0/1": 1000, "Gi1/0/2": 100}


# ---- the far side's port, named as the far side names it -----------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_far_ports_are_named_by_the_far_sides_ifname(snmpsim_agent: Simulator, version: str) -> None:
    """The agent's port id is kept as read; the uplink names the child's port by the child's own ifName.

    cdpCacheDevicePort is what the far side sent, in practice its ifDescr ("GigabitEthernet0/1");
    Junos sends LldpPortIdSubtype local(7) holding the port's ifIndex ("513"). Neither lists the
    parent in its own view, so the parent's entry is all there is; the child's interface table
    turns it into its ifName (Gi0/1, ge-0/0/0), which is what the inventory's links name.
    """
    hosts = {A: "far-port-ids", B: "cdp-child", C: "juniper-child"}
    found = await discovered(snmpsim_agent, hosts, version)
    parent = found[A].view
    assert parent is not None
    assert {
        (n.protocol, n.local_port, n.remote_name, n.remote_port, n.remote_addresses) for n in parent.neighbours
    } == {
        ("cdp", "Gi0/0", "sw-cdp.example.vn", "GigabitEthernet0/1", (B,)),  # "(FOC1234X0AB)" is NX-OS's serial
        ("lldp", "Gi0/1", "jnx-acc", "513", (C,)),
    }
    assert uplinks(found, adjacency(found), A) == {
        B: Uplink(parent=A, port="Gi0/1", parent_port="Gi0/0", speed_mbps=1000),
        C: Uplink(parent=A, port="ge-0/0/0", parent_port="Gi0/1", speed_mbps=1000),
    }
    unread = {**found, B: Found(address=B), C: Found(address=C)}  # no view of the far side: the agent's words
    assert uplinks(unread, adjacency(unread), A) == {
        B: Uplink(parent=A, port="GigabitEthernet0/1", parent_port="Gi0/0", speed_mbps=None),
        C: Uplink(parent=A, port="513", parent_port="Gi0/1", speed_mbps=None),
    }


# ---- names: an FQDN in another case is the host; in another domain it is another host -------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_names_match_by_fqdn_where_both_sides_have_a_domain(snmpsim_agent: Simulator, version: str) -> None:
    """DNS names are case-insensitive (RFC 4343); sw-dist.hanoi and sw-dist.hcm are two devices."""
    found = await discovered(snmpsim_agent, {A: "lldp-fqdn", B: "fqdn-hanoi", C: "fqdn-hcm"}, version)
    view = found[A].view
    assert view is not None
    matched = {(n.local_port, n.remote_name): match_remote(n, found)[0] for n in view.neighbours}
    assert matched == {
        ("Gi1/0/1", "SW-CORE.HANOI.example.vn"): B,
        ("Gi1/0/2", "sw-dist.hanoi.example.vn"): None,  # not discovered; sw-dist.hcm is not it
        ("Gi1/0/4", None): None,  # lldpRemSysName "", no chassis id, no address: nothing to match
        ("Gi1/0/3", "sw-dist.hcm.example.vn"): C,  # cdpCacheDeviceId with the serial NX-OS appends
    }
    assert {(e.a, e.a_port, e.b, e.b_port) for e in adjacency(found)} == {
        (A, "Gi1/0/1", B, "Gi0/1"),
        (A, "Gi1/0/3", C, "GigabitEthernet0/3"),
    }
