"""LLDP/CDP tables to neighbours, neighbours to a tree, the tree against a declared inventory."""

from __future__ import annotations

import ipaddress

import pytest
from gufo.snmp import ValueType

from netmon.discovery.adjacency import Found, Uplink, adjacency, root_of, uplinks
from netmon.discovery.identify import guess
from netmon.discovery.neighbours import DeviceView, Neighbour, parse_cdp, parse_lldp
from netmon.discovery.reconcile import reconcile
from netmon.discovery.snmpread import Identity
from netmon.discovery.sweep import addresses_of, check_allowed, parse_networks
from netmon.errors import InputError
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec

REM = "1.0.8802.1.1.2.1.4.1.1"
MAN = "1.0.8802.1.1.2.1.4.2.1"
LOC = "1.0.8802.1.1.2.1.3.7.1"
CDP = "1.3.6.1.4.1.9.9.23.1.2.1.1"


def test_lldp_tables_as_lldpd_serves_them():
    remote: list[tuple[str, ValueType]] = [
        (f"{REM}.4.100.40.1", 4),
        (f"{REM}.5.100.40.1", b"\xb6\x4c\x8a\x55\xe9\x01"),
        (f"{REM}.6.100.40.1", 5),
        (f"{REM}.7.100.40.1", b"ge2"),
        (f"{REM}.8.100.40.1", b"ge2"),
        (f"{REM}.9.100.40.1", b"rtr1.example"),
        (f"{REM}.10.100.40.1", b"netmon lab device"),
        (f"{REM}.12.100.40.1", b"\x08"),
    ]
    management = [
        (f"{MAN}.3.100.40.1.1.4.198.19.255.2", 2),
        (f"{MAN}.3.100.40.1.2.16.254.128.0.0.0.0.0.0.180.76.138.255.254.85.233.1", 2),
    ]
    local: list[tuple[str, ValueType]] = [(f"{LOC}.2.40", 5), (f"{LOC}.3.40", b"ge1"), (f"{LOC}.4.40", b"ge1")]
    (n,) = parse_lldp(remote, management, local, {40: "ge1", 1: "lo"})
    assert n.local_port == "ge1"
    assert n.remote_name == "rtr1.example"
    assert n.remote_chassis == "b6:4c:8a:55:e9:01"
    assert n.remote_port == "ge2"
    assert n.remote_addresses == ("198.19.255.2", "fe80::b44c:8aff:fe55:e901")
    assert n.remote_capabilities == frozenset({"router"})


def test_lldp_port_by_mac_falls_back_to_the_port_description():
    remote: list[tuple[str, ValueType]] = [
        (f"{REM}.6.0.3.7", 3),
        (f"{REM}.7.0.3.7", b"\x00\x11\x22\x33\x44\x55"),
        (f"{REM}.8.0.3.7", b"Gi0/1"),
    ]
    remote += [(f"{REM}.9.0.3.7", b"sw9")]
    (n,) = parse_lldp(remote, [], [], {3: "eth3"})
    assert (n.local_port, n.remote_port, n.remote_addresses) == ("eth3", "Gi0/1", ())


def test_cdp_cache():
    cache: list[tuple[str, ValueType]] = [
        (f"{CDP}.3.10101.1", 1),
        (f"{CDP}.4.10101.1", bytes([198, 18, 7, 1])),
        (f"{CDP}.6.10101.1", b"core-sw.example(FOC1234X0AB)"),
        (f"{CDP}.7.10101.1", b"GigabitEthernet1/0/24"),
        (f"{CDP}.8.10101.1", b"cisco WS-C3850-24T"),
        (f"{CDP}.9.10101.1", b"\x00\x00\x00\x29"),
    ]
    (n,) = parse_cdp(cache, {10101: "Gi0/1"})
    assert (n.protocol, n.local_port, n.remote_name, n.remote_port) == (
        "cdp",
        "Gi0/1",
        "core-sw.example",
        "GigabitEthernet1/0/24",
    )
    assert n.remote_addresses == ("198.18.7.1",)
    assert n.remote_capabilities == frozenset({"router", "bridge"})


def _host(address: str, name: str, neighbours: list[Neighbour], *, owns: tuple[str, ...] = ()) -> Found:
    identity = Identity(address=address, profile="lab", sys_name=name, sys_descr="Linux")
    view = DeviceView(
        address=address,
        addresses=frozenset({address, *owns}),
        ports={"ge0": 1000, "ge1": 1000, "ge2": 100, "ge3": 100},
        neighbours=tuple(neighbours),
    )
    return Found(address=address, identity=identity, guess=guess(sys_object_id=None, sys_descr="x"), view=view)


def _n(local: str, name: str, port: str, address: str | None = None) -> Neighbour:
    return Neighbour(
        protocol="lldp",
        local_port=local,
        remote_name=name,
        remote_port=port,
        remote_addresses=(address,) if address else (),
    )


@pytest.fixture
def tree() -> dict[str, Found]:
    """core (owns the station's gateway 198.18.0.2) - r1 - sw1, core - r2; r2 is matched by name only."""
    hosts = [
        _host(
            "198.18.9.1", "core", [_n("ge1", "r1", "ge1", "198.18.9.2"), _n("ge2", "r2", "ge1")], owns=("198.18.0.2",)
        ),
        _host("198.18.9.2", "r1", [_n("ge1", "core", "ge1", "198.18.9.1"), _n("ge2", "sw1", "ge1", "198.18.9.4")]),
        _host("198.18.9.3", "r2.example", [_n("ge1", "core", "ge2", "198.18.9.1")]),
        _host("198.18.9.4", "sw1", [_n("ge1", "r1", "ge2", "198.18.9.2")]),
    ]  # fmt: skip
    return {h.address: h for h in hosts}


def test_tree_from_the_station_outward(tree):
    edges = adjacency(tree)
    assert len(edges) == 3  # each pair once, whichever side saw it
    root, why = root_of(tree, gateway="198.18.0.2")
    assert root == "198.18.9.1"
    assert "198.18.0.2" in why
    up = uplinks(tree, edges, root)
    assert up == {
        "198.18.9.2": Uplink(parent="198.18.9.1", port="ge1", parent_port="ge1", speed_mbps=1000),
        "198.18.9.3": Uplink(parent="198.18.9.1", port="ge1", parent_port="ge2", speed_mbps=1000),
        "198.18.9.4": Uplink(parent="198.18.9.2", port="ge1", parent_port="ge2", speed_mbps=1000),
    }


@pytest.mark.parametrize(
    ("gateway", "named", "root", "why"),
    [
        (None, "r1", "198.18.9.2", "--root r1"),
        (None, "nope", None, "not among"),
        ("198.18.77.1", None, None, "no discovered host owns"),
        (None, None, None, "on-link"),
    ],
)
def test_root_reasons(tree, gateway, named, root, why):
    got, reason = root_of(tree, gateway=gateway, named=named)
    assert got == root
    assert why in reason


def _inventory() -> Inventory:
    units = {"HN": UnitSpec(code="HN", name="Tỉnh", level=Level.PROVINCE)}
    devices = {
        "core": DeviceSpec(name="core", unit="HN", role=Role.ROUTER, address="198.18.9.1", snmp="lab"),
        "r1": DeviceSpec(name="r1", unit="HN", role=Role.ROUTER, address="198.18.9.2", parent="core"),
        "r2": DeviceSpec(name="r2", unit="HN", role=Role.ROUTER, address="198.18.9.33", parent="r1"),
        "gone": DeviceSpec(name="gone", unit="HN", role=Role.SWITCH, address="198.18.9.9"),
        "far": DeviceSpec(name="far", unit="HN", role=Role.SWITCH, address="198.18.200.9"),
    }
    links = {"r1-wan": LinkSpec(name="r1-wan", kind=LinkKind.WAN, unit="HN", device="r1", interface="ge7")}
    return Inventory(units=units, devices=devices, links=links)


def test_reconcile_names_every_kind_of_difference(tree):
    up = uplinks(tree, adjacency(tree), "198.18.9.1")
    report = reconcile(_inventory(), tree, up, swept=parse_networks(["198.18.9.0/24"]), unit=None)
    found = {(f.kind, f.device, f.declared, f.observed) for f in report.findings}
    assert found == {
        ("not_found", "gone", "198.18.9.9", None),  # "far" is outside the swept network: not reported
        ("address_changed", "r2", "198.18.9.33", "198.18.9.3"),  # matched by sysName r2.example
        ("parent_differs", "r2", "r1", "core"),
        ("interface_differs", "r1", "ge7", "ge1"),
        ("new_device", "sw1", None, "198.18.9.4"),
    }
    rows = {row["name"]: row for row in report.devices}
    assert rows["sw1"]["unit"] == "HN"  # the unit of the nearest declared device upstream
    assert rows["sw1"]["parent"] == "r1"
    assert rows["r2"]["address"] == "198.18.9.3"
    # r1 has a declared link already; r2 and the new sw1 get one on the port where the parent is seen
    assert [(link["name"], link["interface"], link["kind"]) for link in report.links] == [
        ("r2-uplink", "ge1", "lan"),
        ("sw1-uplink", "ge1", "lan"),
    ]


def test_new_device_without_a_unit_is_left_out_with_a_note(tree):
    report = reconcile(Inventory(units={}, devices={}, links={}), tree, {}, swept=[], unit=None)
    assert report.devices == []
    assert len(report.notes) == 4
    assert "give --unit CODE" in report.notes[0]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["nonsense"], "expected a network"),
        (["198.18.0.0/12"], "more than one sweep takes"),
    ],
)
def test_bad_networks(texts, message):
    with pytest.raises(InputError, match=message):
        parse_networks(texts)


def test_outside_allowed_is_refused():
    allowed = [ipaddress.ip_network("198.18.0.0/16")]
    check_allowed(parse_networks(["198.18.4.0/24", "198.18.0.7"]), allowed)
    with pytest.raises(InputError, match=r"198\.19\.0\.0/24 is outside discovery.allowed"):
        check_allowed(parse_networks(["198.19.0.0/24"]), allowed)
    with pytest.raises(InputError, match="the list is empty"):
        check_allowed(parse_networks(["198.18.4.0/24"]), [])


def test_addresses_of_leaves_out_network_and_broadcast_and_repeats():
    got = list(addresses_of(parse_networks(["198.18.5.0/30", "198.18.5.1", "198.18.5.8/31"])))
    assert got == ["198.18.5.1", "198.18.5.2", "198.18.5.8", "198.18.5.9"]


def test_an_edge_only_one_side_still_lists_is_stale(tree):
    """After sw1 moved from r2 to r1, sw1 may list r2 for up to its TTL; r2 no longer lists sw1."""
    sw1 = tree["198.18.9.4"]
    assert sw1.view is not None
    stale = _n("ge1", "r2", "ge5", "198.18.9.3")
    tree["198.18.9.4"] = Found(
        address=sw1.address,
        identity=sw1.identity,
        guess=sw1.guess,
        view=DeviceView(address=sw1.address, ports=sw1.view.ports, neighbours=(*sw1.view.neighbours, stale)),
    )
    edges = adjacency(tree)
    assert {(e.a, e.b) for e in edges} == {
        ("198.18.9.1", "198.18.9.2"),
        ("198.18.9.1", "198.18.9.3"),
        ("198.18.9.2", "198.18.9.4"),
    }
    assert uplinks(tree, edges, "198.18.9.1")["198.18.9.4"].parent == "198.18.9.2"


def test_two_links_one_pair_and_the_far_side_lists_only_the_second() -> None:
    """A: ge1-ge1 and ge2-ge2 to B; B lists only ge2 (A's ge1 entry is stale within its TTL).

    The edge paired A's ge1 with B's ge2 (the only entry B gave): two links' ports in one edge.
    A's ge1 is B's ge1 as A reads it, the far port of A's own entry.
    """
    a = _host("198.18.9.11", "a", [_n("ge1", "b", "ge1", "198.18.9.12"), _n("ge2", "b", "ge2", "198.18.9.12")])
    b = _host("198.18.9.12", "b", [_n("ge2", "a", "ge2", "198.18.9.11")])
    (edge,) = adjacency({a.address: a, b.address: b})
    assert (edge.a, edge.a_port, edge.b, edge.b_port) == ("198.18.9.11", "ge1", "198.18.9.12", "ge1")
