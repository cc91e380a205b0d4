"""Role, vendor and model guesses, table-tested on sysObjectID/sysDescr pairs of many vendors (own fixtures)."""

from __future__ import annotations

import pytest

from netmon.discovery.identify import capabilities, enterprise_of, guess
from netmon.inventory.models import Role

E = "1.3.6.1.4.1."

# Each case: an id, then sysObjectID, sysDescr, and the expected role, vendor and model.
CASES = [
    (
        "cisco-isr",
        E + "9.1.2068",
        "Cisco IOS XE Software, Version 17.03.04a - ISR4331/K9 router",
        Role.ROUTER,
        "Cisco",
        "ISR4331",
    ),
    (
        "cisco-catalyst",
        E + "9.1.1208",
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4",
        Role.SWITCH,
        "Cisco",
        "C2960X",
    ),
    (
        "cisco-nexus",
        E + "9.12.3.1.3.1812",
        "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8)",
        Role.SWITCH,
        "Cisco",
        None,
    ),
    ("cisco-asa", E + "9.1.2313", "Cisco Adaptive Security Appliance Version 9.16(3)", Role.FIREWALL, "Cisco", None),
    (
        "cisco-codec",
        E + "5596.150.6.4.1",
        "Cisco Codec SoftW: ce9.15.3 MCU: Cisco Webex Room Kit",
        Role.VC_ENDPOINT,
        "Cisco TelePresence (Tandberg)",
        "Webex Room Kit",
    ),
    (
        "juniper-ex",
        E + "2636.1.1.1.2.31",
        "Juniper Networks, Inc. ex2300-24t Ethernet Switch, kernel JUNOS 20.4R3",
        Role.SWITCH,
        "Juniper",
        "ex2300-24t",
    ),
    (
        "juniper-srx",
        E + "2636.1.1.1.2.133",
        "Juniper Networks, Inc. srx300 internet router, kernel JUNOS 19.4R3",
        Role.FIREWALL,
        "Juniper",
        "srx300",
    ),
    (
        "juniper-mx",
        E + "2636.1.1.1.2.57",
        "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 21.2R3",
        Role.ROUTER,
        "Juniper",
        "mx204",
    ),
    ("mikrotik-rb", E + "14988.1", "RouterOS RB4011iGS+", Role.ROUTER, "MikroTik", "RB4011iGS"),
    ("mikrotik-crs", E + "14988.1", "RouterOS CRS326-24G-2S+", Role.SWITCH, "MikroTik", "CRS326-24G-2S"),
    (
        "huawei-s5700",
        E + "2011.2.23.94",
        (
            "S5700-28C-EI\r\nHuawei Versatile Routing Platform Software\r\n"
            "VRP (R) software, Version 5.70 (S5700 V100R006C05)"
        ),
        Role.SWITCH,
        "Huawei",
        "S5700-28C-EI",
    ),
    (
        "huawei-ar",
        E + "2011.2.224.67",
        (
            "Huawei AR2220\r\nHuawei Versatile Routing Platform Software\r\n"
            "VRP (R) software, Version 5.160 (AR2200 V200R009C00SPC500)"
        ),
        Role.ROUTER,
        "Huawei",
        "AR2220",
    ),
    ("fortigate", E + "12356.101.1.1", "FortiGate-60F v7.0.12,build0523", Role.FIREWALL, "Fortinet", "FortiGate-60F"),
    (
        "paloalto",
        E + "25461.2.3.38",
        "Palo Alto Networks PA-3200 series firewall",
        Role.FIREWALL,
        "Palo Alto Networks",
        "PA-3200",
    ),
    (
        "aruba-switch",
        E + "11.2.3.7.11.181",
        "Aruba 2930F-24G-PoE+-4SFP+ Switch, revision WC.16.10.0012",
        Role.SWITCH,
        "HP",
        "Aruba 2930F",
    ),
    (
        "ubiquiti-ap",
        E + "41112.1.6",
        "Linux 4.4.153 #1 SMP UAP-AC-Pro 6.5.62",
        Role.ACCESS_POINT,
        "Ubiquiti",
        "UAP-AC-Pro",
    ),
    (
        "dlink",
        E + "171.10.153.3.1",
        "DGS-1510-28X Gigabit Ethernet SmartPro Switch",
        Role.SWITCH,
        "D-Link",
        "DGS-1510-28X",
    ),
    (
        "tplink",
        E + "11863.1.1.3",
        "JetStream 24-Port Gigabit L2 Managed Switch with 4 SFP Slots",
        Role.SWITCH,
        "TP-Link",
        None,
    ),
    ("zyxel", E + "890.1.15", "XGS1930-28", Role.SWITCH, "Zyxel", "XGS1930-28"),
    (
        "windows",
        E + "311.1.1.3.1.2",
        (
            "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - "
            "Software: Windows Version 6.3 (Build 17763 Multiprocessor Free)"
        ),
        Role.SERVER,
        "Microsoft",
        None,
    ),
    (
        "esxi",
        E + "6876.4.1",
        "VMware ESXi 7.0.3 build-21313628 VMware, Inc. x86_64",
        Role.SERVER,
        "VMware",
        "ESXi 7.0.3",
    ),
    (
        "apc",
        E + "318.1.3.27",
        "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 MN:AP9630 HR:05)",
        Role.UPS,
        "APC",
        None,
    ),
    ("eaton", E + "534.1", "Eaton 5PX 1500", Role.UPS, "Eaton", "Eaton 5PX"),
    ("poly", E + "13885.101", "Poly G7500", Role.VC_ENDPOINT, "Poly (Polycom)", "G7500"),
    (
        "arista",
        E + "30065.1.3011.7050.3282.48",
        "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX3-48YC8",
        Role.SWITCH,
        "Arista",
        "DCS-7050SX3-48YC8",
    ),
]


@pytest.mark.parametrize(("oid", "descr", "role", "vendor", "model"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_vendor_fixture(oid, descr, role, vendor, model):
    got = guess(sys_object_id=oid, sys_descr=descr)
    assert (got.role, got.vendor, got.model) == (role, vendor, model)
    assert any(r.startswith("role: ") for r in got.reasons)  # every guess says why


def test_at_least_fifteen_vendors_are_covered():
    assert len({c[4] for c in CASES}) >= 15


@pytest.mark.parametrize(
    ("caps", "descr", "host_resources", "services", "role", "why"),
    [
        ({"router", "bridge"}, "Linux", False, None, Role.ROUTER, "LLDP"),
        ({"bridge"}, "Linux", False, None, Role.SWITCH, "LLDP"),
        ({"telephone"}, "Linux", True, None, Role.VC_ENDPOINT, "LLDP"),
        ({"wlanAccessPoint", "bridge"}, "Linux", False, None, Role.ACCESS_POINT, "LLDP"),
        (set(), "Linux nas01 4.4.302+ #69057 SMP x86_64", True, None, Role.SERVER, "HOST-RESOURCES"),
        ({"bridge"}, "some core router", False, None, Role.SWITCH, "LLDP"),  # a bare keyword yields to LLDP
        (set(), "some core router", False, None, Role.ROUTER, '"router"'),
        (set(), "Linux", False, 78, Role.ROUTER, "layer 3"),
        (set(), "Linux", False, 2, Role.SWITCH, "layer 2"),
        (set(), "Linux", False, 72, Role.OTHER, "nothing"),
    ],
    ids=["lldp-router", "lldp-bridge", "lldp-telephone-beats-hr", "lldp-ap", "hr", "keyword-yields", "keyword",
         "services-l3", "services-l2", "nothing"],
)  # fmt: skip
def test_fallbacks(caps, descr, host_resources, services, role, why):  # noqa: PLR0917 (parametrized)
    got = guess(
        sys_object_id=E + "8072.3.2.10",
        sys_descr=descr,
        lldp_capabilities=frozenset(caps),
        host_resources=host_resources,
        sys_services=services,
    )
    assert got.role is role
    assert got.vendor == "net-snmp"
    assert why in got.reasons[-1]


def test_unknown_enterprise_is_said():
    got = guess(sys_object_id=E + "99999.1", sys_descr="")
    assert got.vendor is None
    assert "enterprise 99999 is not in netmon's table" in got.reasons[0]


@pytest.mark.parametrize(
    ("oid", "number"),
    [(E + "9.1.1", 9), ("." + E + "2011", 2011), ("1.3.6.1.2.1.1", None), ("", None), (None, None), (E + "x", None)],
)
def test_enterprise_of(oid, number):
    assert enterprise_of(oid) == number


@pytest.mark.parametrize(
    ("bits", "names"),
    [
        (b"\x08", {"router"}),  # lldpd's "router": bit 4
        (b"\x28", {"bridge", "router"}),
        (b"\x04", {"telephone"}),
        (b"\x01", {"stationOnly"}),
        (b"", set()),
        (None, set()),
    ],
    ids=["router", "bridge-router", "telephone", "station", "empty", "absent"],
)
def test_capability_bits(bits, names):
    assert capabilities(bits) == frozenset(names)
