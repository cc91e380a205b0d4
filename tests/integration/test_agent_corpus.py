"""The SNMP poller against the hand-written corpus of agent behaviours (tests/agents, served by snmpsim).

Each behaviour of issue 13 has a data file; the correct value is written here, and netmon's
sample is also compared field by field with what net-snmp's snmpwalk/snmpget read from the
same agent.
"""

from __future__ import annotations

import subprocess
import unicodedata
from collections import Counter
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netmon.config import Config
from netmon.inventory.models import Level, Role
from netmon.inventory.spec import DeviceSpec, Inventory, UnitSpec
from netmon.inventory.store import Store
from netmon.kernel import Sample
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.outages import OutageLedger
from netmon.monitor.rounds import RoundResult
from netmon.monitor.topology import interface_key
from netmon.pollers.base import InterfaceRow, InterfacesSample, Status, SystemSample, Target
from netmon.pollers.snmp import SnmpPoller
from netmon.pollers.snmptext import decode_text
from netmon.sinks.exposition import Exposition
from netmon.sinks.sections import sections
from tests.conftest import Simulator

FAST = Config.model_validate({"polling": {"snmp": {"timeout": 0.5, "retries": 1}}}).polling.snmp
VERSIONS = ["v1", "v2c"]
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"


def snmpwalk(sim: Simulator, community: str, version: str, oid: str) -> dict[int, str]:
    """Walk *oid* with snmpwalk (strings as hex); values by last sub-identifier, as printed."""
    command = ["snmpwalk", "-On", "-Oq", "-Oe", "-Ox", "-t", "2", "-r", "1", "-v", version.lstrip("v"), "-c", community]
    done = subprocess.run(
        [*command, f"{sim.address}:{sim.port}", oid], capture_output=True, text=True, timeout=60, check=True
    )
    walked: dict[int, str] = {}
    last = None
    for line in done.stdout.splitlines():
        if not line.startswith("."):  # long hex strings go on over several lines
            if last is not None and not line.startswith("End of MIB"):
                walked[last] += " " + line.strip()
            continue
        name, _, value = line.partition(" ")
        last = None
        if value.startswith(("No Such", "No more")) or not name.startswith(f".{oid}."):
            continue
        last = int(name.rsplit(".", 1)[1])
        walked[last] = value.strip().strip('"')
    return walked


def hex_text(printed: str) -> str:
    """Decode an snmpwalk -Ox string ("47 69 30 ...") the way netmon should."""
    return decode_text(bytes.fromhex(printed.replace(" ", "").strip('"')))


def corpus_target(
    sim: Simulator, behaviour: str, version: str, *, role: Role, unit: str, device: str | None = None
) -> tuple[SnmpPoller, Target]:
    """A poller with the corpus' profiles and the target of one behaviour's agent (its community) in *version*."""
    target = Target(
        device=device or behaviour, address=sim.address, unit=unit, role=role, snmp=f"{behaviour}-{version}"
    )
    return SnmpPoller(sim.profiles(behaviour), FAST), target


async def poll_interfaces(sim: Simulator, community: str, version: str) -> InterfacesSample:
    poller, target = corpus_target(sim, community, version, role=Role.ROUTER, unit="U")
    system = await poller.system(target)
    assert system.status is Status.OK, system.error
    return await poller.interfaces(target, uptime=system.sys_uptime)


#: The label that tells one series of a device from another, by family prefix.
_PER = {"netmon_interface_": "interface", "netmon_host_storage_": "storage", "netmon_host_cpu_": "cpu"}


async def exposition(device: str, role: Role, samples: Sequence[Sample]) -> dict[tuple[str, str | None], float]:
    """What /metrics and /metrics/interfaces serve of *samples* (every interface): value by (series, its label).

    Fails when two series share a label set: a real Prometheus keeps one of them, silently (FIELD-NOTES).
    """
    inventory = Inventory(
        units={"P": UnitSpec(code="P", name="Tỉnh Ninh Bình", level=Level.PROVINCE)},
        devices={device: DeviceSpec(name=device, unit="P", role=role, address="127.0.0.1")},
        links={},
    )
    config = Config.model_validate({"metrics": {"interfaces": "all"}})
    live = LiveState(config, inventory, MaintenanceSchedule(inventory, ZoneInfo("UTC")))
    live.record(samples)
    rendered = Exposition(lambda: live, sections(), lambda: config.metrics)
    text = (await rendered.render(("main", "interfaces"), now=samples[-1].ts)).decode()
    found = [
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("device") == device
    ]
    assert [key for key, n in Counter((name, labels) for name, labels, _ in found).items() if n > 1] == []
    label = {name: next((v for k, v in _PER.items() if name.startswith(k)), None) for name, _, _ in found}
    return {(name, dict(labels).get(label[name] or "")): value for name, labels, value in found}


# ---- 2. the end of the agent's view ends the walk, the sample stays ok -----------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_system_only_agent_has_no_interfaces_and_is_ok(snmpsim_agent: Simulator, version: str) -> None:
    sample = await poll_interfaces(snmpsim_agent, "system-only", version)
    assert (sample.status, sample.interfaces, sample.sys_uptime) == (Status.OK, (), 123456)
    assert snmpwalk(snmpsim_agent, "system-only", version, "1.3.6.1.2.1.2") == {}


# ---- 4, 5, 6. per-interface counter width, ifTable-only rows, enums, speed --------------------

MIXED_V2C = {
    1: InterfaceRow(
        if_index=1, name="Gi0/1", alias="uplink VNPT", oper_status=1, admin_status=1, speed_bps=1_000_000_000,
        counter_bits=64, in_octets=90_000_000_001, out_octets=90_000_000_002,
        in_errors=21, out_errors=41, in_discards=11, out_discards=31,
    ),
    2: InterfaceRow(
        if_index=2, name="Te0/2", alias="core", oper_status=2, admin_status=1, speed_bps=10_000_000_000,
        counter_bits=64, in_octets=2**64 - 1, out_octets=2**64 - 2,
    ),
    3: InterfaceRow(
        if_index=3, name="Se0/0", alias="3G backup", oper_status=1, admin_status=1, speed_bps=64_000,
        counter_bits=32, in_octets=1003, out_octets=2003,
    ),
    4: InterfaceRow(
        if_index=4, name="Lo0", oper_status=1, admin_status=1, speed_bps=0,
        counter_bits=32, in_octets=1004, out_octets=2004,
    ),
    5: InterfaceRow(  # ifName empty: ifDescr; ifOperStatus 0 and ifAdminStatus 9 are out of range
        if_index=5, name="Vlan5", oper_status=None, admin_status=None, speed_bps=0,
        counter_bits=32, in_octets=1005, out_octets=2005,
    ),
    268435456: InterfaceRow(  # only in ifTable: no ifName, no HC counters
        if_index=268435456, name="eth0", oper_status=1, admin_status=1, speed_bps=100_000_000,
        counter_bits=32, in_octets=4_000_000_000, out_octets=3_000_000_000,
        in_errors=26, out_errors=46, in_discards=16, out_discards=36,
    ),
}  # fmt: skip


def _v1(row: InterfaceRow) -> InterfaceRow:
    """SNMPv1 has no Counter64: every interface is read with its 32-bit ifInOctets/ifOutOctets."""
    values = {"in_octets": 1000 + row.if_index, "out_octets": 2000 + row.if_index}
    if row.if_index == 268435456:
        values = {"in_octets": 4_000_000_000, "out_octets": 3_000_000_000}
    return InterfaceRow(**{**row.to_dict(), "counter_bits": 32, **values})


@pytest.mark.parametrize("version", VERSIONS)
async def test_mixed_ports_field_by_field(snmpsim_agent: Simulator, version: str) -> None:
    sample = await poll_interfaces(snmpsim_agent, "mixed-ports", version)
    assert sample.status is Status.OK, sample.error
    expected = MIXED_V2C if version == "v2c" else {i: _v1(row) for i, row in MIXED_V2C.items()}
    assert {row.if_index: row for row in sample.interfaces} == expected
    # the same agent through net-snmp: every ifTable row is there, with the same counters
    walk = snmpwalk(snmpsim_agent, "mixed-ports", version, "1.3.6.1.2.1.2.2.1.10")
    assert {row.if_index for row in sample.interfaces} == set(walk)
    if version == "v2c":
        hc = snmpwalk(snmpsim_agent, "mixed-ports", version, "1.3.6.1.2.1.31.1.1.1.6")
        for row in sample.interfaces:
            assert row.in_octets == int(hc.get(row.if_index, walk[row.if_index]))
            assert row.counter_bits == (64 if row.if_index in hc else 32)


# ---- 7. duplicate names: every row kept, identity by ifIndex ---------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_duplicate_names_are_all_kept(snmpsim_agent: Simulator, version: str) -> None:
    sample = await poll_interfaces(snmpsim_agent, "duplicate-names", version)
    names = {i: hex_text(v) for i, v in snmpwalk(snmpsim_agent, "duplicate-names", version, IF_NAME).items()}
    assert {row.if_index: row.name for row in sample.interfaces} == names
    assert [row.name for row in sample.interfaces].count("ethernet0/0") == 5


# ---- 8. text: NUL dropped, UTF-8, else Windows-1258, else hex --------------------------------

LONG_NAME = ("Giao diện quản lý mạng nội bộ Sở Khoa học và Công nghệ " * 4)[:189]  # 253 bytes of UTF-8
TEXT_NAMES = {1: "Gi0/1", 2: "Cổng-1", 3: "Gi0/3", 4: "Gi0/4", 5: LONG_NAME}
TEXT_ALIASES = {1: "Sở Khoa học và Công nghệ tỉnh Ninh Bình", 2: "Phòng Tài chính", 3: "0x818d", 4: "plain ascii"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_text_in_legacy_encodings(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "text-encodings", version, role=Role.ROUTER, unit="U", device="t")
    system = await poller.system(target)
    assert (system.sys_name, system.sys_descr) == ("sw-an-binh", "Cisco IOS Última")  # 0xDA is Ú in Windows-1258
    sample = await poller.interfaces(target, uptime=system.sys_uptime)
    assert {row.if_index: row.name for row in sample.interfaces} == TEXT_NAMES
    assert {row.if_index: row.alias for row in sample.interfaces if row.alias} == TEXT_ALIASES
    walked = snmpwalk(snmpsim_agent, "text-encodings", version, IF_ALIAS)
    assert {i: hex_text(v) for i, v in walked.items()} == TEXT_ALIASES
    assert not any("\x00" in row.name + row.alias for row in sample.interfaces)


# ---- 9, 10. missing sysUpTime.0 (v1: noSuchName for the whole GET) ---------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_missing_sysuptime_keeps_the_rest(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "no-uptime", version, role=Role.ROUTER, unit="U", device="n")
    system = await poller.system(target)
    assert (system.status, system.sys_name, system.sys_uptime) == (Status.OK, "no-uptime", None)
    assert system.sys_object_id == "1.3.6.1.4.1.8072.3.2.10"
    sample = await poller.interfaces(target, uptime=system.sys_uptime)
    assert sample.status is Status.OK, sample.error
    assert not sample.discontinuity_known
    assert [(row.name, row.in_octets, row.counter_bits) for row in sample.interfaces] == [("eth0", 12345, 32)]


# ---- 11. negative HOST-RESOURCES values -------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_negative_storage_is_unsigned_or_unknown(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "host-negative", version, role=Role.SERVER, unit="U", device="h")
    sample = await poller.host_resources(target)
    assert sample.status is Status.OK, sample.error
    assert {row.descr: (row.size_bytes, row.used_bytes) for row in sample.storage} == {
        "Physical memory": (8_000_000 * 1024, 2_000_000 * 1024),
        "/volume1": ((2**32 - 294_967_296) * 4096, (2**32 - 300_000_000) * 4096),  # both fit once unsigned
        "/volume2": (None, 5 * 512),  # hrStorageSize -1: unknown, never -512 bytes
        "/volume3": (1000 * 4096, None),  # used -4,012,904 does not fit a size of 1000 units
    }
    assert sample.cpu_load == (7,)  # hrProcessorLoad -3 is not a load


# ---- 3. a GETBULK reply too large for the receive buffer -------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_long_aliases_are_all_read(snmpsim_agent: Simulator, version: str) -> None:
    sample = await poll_interfaces(snmpsim_agent, "big-aliases", version)
    assert sample.status is Status.OK, sample.error
    walked = snmpwalk(snmpsim_agent, "big-aliases", version, IF_ALIAS)
    assert len(walked) == 30
    assert {row.if_index: row.alias for row in sample.interfaces} == {i: hex_text(v) for i, v in walked.items()}
    assert all(len(row.alias) == 200 for row in sample.interfaces)


async def test_decoded_names_are_stored_on_both_databases(snmpsim_agent: Simulator, store: Store) -> None:
    """NUL never reaches PostgreSQL; a long ifName beside a long device name still fits the state table."""
    device = ("sw-an-binh-" * 6)[:64]  # the longest device name: with the 189-character ifName, 254 characters
    inventory = Inventory(
        units={"P": UnitSpec(code="P", name="Tỉnh Ninh Bình", level=Level.PROVINCE)},
        devices={device: DeviceSpec(name=device, unit="P", role=Role.SWITCH, address=snmpsim_agent.address)},
        links={},
    )
    live = LiveState(Config.model_validate({}), inventory, MaintenanceSchedule(inventory, ZoneInfo("UTC")))
    poller, target = corpus_target(snmpsim_agent, "text-encodings", "v2c", role=Role.SWITCH, unit="P", device=device)
    sample = await poller.interfaces(target)
    live.record([sample])
    transitions = live.conclude(
        RoundResult(poll_class="snmp", started=sample.ts, duration=0.0, samples=(sample,)), sample.ts
    )
    expected = {interface_key(device, name)[1]: state for name, state in TEXT_STATES.items()}
    assert {t.name: t.new.value for t in transitions} == expected
    assert all(len(name) <= 255 for name in expected)
    ledger = OutageLedger(store.engine)
    ledger.apply(transitions)
    assert {row.name: row.state.value for row in ledger.last_states() if row.kind == "interface"} == expected


TEXT_STATES = {"Gi0/1": "up", "Cổng-1": "up", "Gi0/3": "down", "Gi0/4": "down", LONG_NAME: "down"}


# ---- an RFC 1213 agent: no ifXTable at all ----------------------------------------------------

NO_IFX = {
    1: InterfaceRow(
        if_index=1, name="eth0", oper_status=1, admin_status=1, speed_bps=100_000_000, counter_bits=32,
        in_octets=123_456_789, out_octets=987_654_321, in_errors=7, out_errors=5, in_discards=3, out_discards=1,
    ),
    2: InterfaceRow(  # ifSpeed 4,294,967,295 says "faster than that"; without ifHighSpeed the speed is unknown
        if_index=2, name="10GbE uplink", oper_status=1, admin_status=1, speed_bps=None, counter_bits=32,
        in_octets=4_294_967_000, out_octets=17, in_errors=2**32 - 1, out_errors=6, in_discards=0, out_discards=2,
    ),
    3: InterfaceRow(
        if_index=3, name="lo", oper_status=1, admin_status=1, speed_bps=10_000_000, counter_bits=32,
        in_octets=5555, out_octets=5555, in_errors=0, out_errors=0, in_discards=0, out_discards=0,
    ),
    1001: InterfaceRow(
        if_index=1001, name="Management Port", oper_status=2, admin_status=2, speed_bps=10_000_000, counter_bits=32,
        in_octets=0, out_octets=0, in_errors=0, out_errors=0, in_discards=0, out_discards=0,
    ),
}  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_agent_without_ifxtable(snmpsim_agent: Simulator, version: str) -> None:
    """RFC 1213 MIB-II only: names from ifDescr, 32-bit counters, and ifSpeed the only speed (RFC 2863)."""
    sample = await poll_interfaces(snmpsim_agent, "no-ifxtable", version)
    assert sample.status is Status.OK, sample.error
    assert {row.if_index: row for row in sample.interfaces} == NO_IFX
    assert sample.walk_notes == ()
    descr = snmpwalk(snmpsim_agent, "no-ifxtable", version, "1.3.6.1.2.1.2.2.1.2")
    assert {row.if_index: row.name for row in sample.interfaces} == {i: hex_text(v) for i, v in descr.items()}
    assert snmpwalk(snmpsim_agent, "no-ifxtable", version, "1.3.6.1.2.1.31.1.1.1") == {}
    system = SystemSample(device="no-ifxtable", ts=sample.ts, status=Status.OK, sys_uptime=sample.sys_uptime)
    series = await exposition("no-ifxtable", Role.SWITCH, [system, sample])
    assert ("netmon_interface_speed_bytes", "10GbE uplink") not in series  # never 536,870,911.875 bytes/s
    assert series[("netmon_interface_speed_bytes", "eth0")] == 12_500_000
    assert {i for (name, i) in series if name == "netmon_interface_counter_bits"} == {r.name for r in NO_IFX.values()}
    assert series[("netmon_interface_received_bytes_total", "10GbE uplink")] == 4_294_967_000


# ---- HC counters that are served but never count -----------------------------------------------

HC_ZERO = {  # ifInOctets is the low 32 bits of ifHCInOctets (RFC 2863): an HC 0 beside a count is not kept
    1: (32, 3_000_000_000, 1_500_000_000),
    2: (64, 0, 0),  # nothing counted either way: the HC counters may stand
    3: (32, 4096, 0),
}


@pytest.mark.parametrize("version", VERSIONS)
async def test_hc_counters_stuck_at_zero_give_way_to_the_32_bit_ones(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "hc-zero", version, role=Role.SWITCH, unit="U")
    expected = HC_ZERO if version == "v2c" else {i: (32, *values[1:]) for i, values in HC_ZERO.items()}
    for _ in range(2):  # walked, then (v2c) read by GET at the cells the walk found (netmon.pollers.ifplan)
        sample = await poller.interfaces(target)
        assert sample.status is Status.OK, sample.error
        got = {row.if_index: (row.counter_bits, row.in_octets, row.out_octets) for row in sample.interfaces}
        assert got == expected
    narrow = snmpwalk(snmpsim_agent, "hc-zero", version, "1.3.6.1.2.1.2.2.1.10")
    assert {i: int(v) for i, v in narrow.items()} == {i: values[1] for i, values in HC_ZERO.items()}
    system = SystemSample(device="hc-zero", ts=sample.ts, status=Status.OK, sys_uptime=sample.sys_uptime)
    series = await exposition("hc-zero", Role.SWITCH, [system, sample])
    assert series[("netmon_interface_received_bytes_total", "1/1")] == 3_000_000_000
    assert {i for (name, i) in series if name == "netmon_interface_counter_bits"} == (
        {"1/1", "1/3"} if version == "v2c" else {"1/1", "1/2", "1/3"}
    )


# ---- hrStorage: repeated and empty descriptions, allocation units 0, used above size; 64 CPUs ----

KIB, PAGE = 1024, 4096
HOST_DUPES = {  # hrStorageIndex: (descr, size bytes, used bytes); RFC 2790 sizes are in hrStorageAllocationUnits
    1: ("Physical memory", 16_318_460 * KIB, 15_234_100 * KIB),
    3: ("Virtual memory", 18_415_608 * KIB, 15_390_312 * KIB),
    6: ("Memory buffers", 16_318_460 * KIB, 1_105_324 * KIB),
    7: ("Cached memory", 9_854_220 * KIB, 9_854_220 * KIB),
    10: ("Swap space", 2_097_148 * KIB, 156_212 * KIB),
    31: ("/", 60_950_634 * PAGE, 12_345_678 * PAGE),
    35: ("/run", 407_962 * PAGE, 302 * PAGE),
    38: ("/run", 1024 * PAGE, 0),
    40: ("", 2048 * PAGE, 1 * PAGE),
    41: ("", 4096 * PAGE, 2 * PAGE),
    50: ("D:\\", None, None),  # hrStorageAllocationUnits 0 (a drive without media): no size can be known
    51: ("C:\\ Label:  Serial Number 5c1bbfa3", 31_383_551 * PAGE, 20_519_212 * PAGE),
    60: ("/mnt/thin", 1000 * KIB, 1500 * KIB),  # used above size (thin provisioning): as the agent says
}
#: The storage label of each row: its hrStorageDescr where unique on the host, else made unique by hrStorageIndex.
STORAGE_LABELS = {
    **{i: d for i, (d, _, _) in HOST_DUPES.items()},
    35: "/run#35",
    38: "/run#38",
    40: "hrStorageIndex:40",
    41: "hrStorageIndex:41",
}


@pytest.mark.parametrize("version", VERSIONS)
async def test_storage_rows_each_get_their_own_series(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "host-dupes", version, role=Role.SERVER, unit="P")
    sample = await poller.host_resources(target)
    assert sample.status is Status.OK, sample.error
    assert {row.index: (row.descr, row.size_bytes, row.used_bytes) for row in sample.storage} == HOST_DUPES
    descr = snmpwalk(snmpsim_agent, "host-dupes", version, "1.3.6.1.2.1.25.2.3.1.3")
    assert {i: hex_text(v) for i, v in descr.items()} == {i: d for i, (d, _, _) in HOST_DUPES.items()}
    assert sample.cpu_load == tuple((n * 7) % 101 for n in range(64))
    series = await exposition("host-dupes", Role.SERVER, [sample])  # fails on a repeated label set
    sizes = {label for (name, label) in series if name == "netmon_host_storage_size_bytes"}
    assert sizes == {STORAGE_LABELS[i] for i, (_, size, _) in HOST_DUPES.items() if size is not None}
    for index, (_, size, used) in HOST_DUPES.items():
        assert series.get(("netmon_host_storage_size_bytes", STORAGE_LABELS[index])) == size
        assert series.get(("netmon_host_storage_used_bytes", STORAGE_LABELS[index])) == used
    cpus = {label: value for (name, label), value in series.items() if name == "netmon_host_cpu_load_ratio"}
    assert cpus == {str(196608 + n): (n * 7) % 101 / 100 for n in range(64)}  # hrDeviceIndex, not position


# ---- every ifOperStatus: which ones are an outage ------------------------------------------------

#: ifName: (ifOperStatus, ifAdminStatus) as read, and the state an admin-up interface is judged in.
#: RFC 2863 ifOperStatus: testing(3) and unknown(4) say nothing of a fault; dormant(5) is "a 'pending'
#: state, waiting for some external event" (a dial-on-demand or standby backup link) and is not
#: judged either. notPresent(6) (a missing component) and lowerLayerDown(7) are down.
OPER_STATES = {
    "up": ((1, 1), "up"),
    "down": ((2, 1), "down"),
    "testing": ((3, 1), None),
    "unknown": ((4, 1), None),
    "dormant": ((5, 1), None),
    "notPresent": ((6, 1), "down"),
    "lowerLayerDown": ((7, 1), "down"),
    "admin-testing": ((3, 3), None),  # not admin-up: not judged
    "oper-8": ((None, 1), None),  # out of range: unknown
    "oper-minus-1": ((None, 1), None),
}


@pytest.mark.parametrize("version", VERSIONS)
async def test_each_oper_status_is_read_and_judged(snmpsim_agent: Simulator, version: str) -> None:
    sample = await poll_interfaces(snmpsim_agent, "oper-states", version)
    assert sample.status is Status.OK, sample.error
    read = {row.name: (row.oper_status, row.admin_status) for row in sample.interfaces}
    assert read == {name: statuses for name, (statuses, _) in OPER_STATES.items()}
    walked = snmpwalk(snmpsim_agent, "oper-states", version, IF_OPER)
    assert {row.if_index: str(row.oper_status) for row in sample.interfaces if row.oper_status} == {
        i: v for i, v in walked.items() if v in {"1", "2", "3", "4", "5", "6", "7"}
    }
    device = "oper-states"
    inventory = Inventory(
        units={"P": UnitSpec(code="P", name="P", level=Level.PROVINCE)},
        devices={device: DeviceSpec(name=device, unit="P", role=Role.ROUTER, address=snmpsim_agent.address)},
        links={},
    )
    live = LiveState(Config.model_validate({}), inventory, MaintenanceSchedule(inventory, ZoneInfo("UTC")))
    live.record([sample])
    transitions = live.conclude(
        RoundResult(poll_class="snmp", started=sample.ts, duration=0.0, samples=(sample,)), sample.ts
    )
    judged = {interface_key(device, name)[1]: state for name, (_, state) in OPER_STATES.items() if state}
    assert {t.name: t.new.value for t in transitions} == judged
    system = SystemSample(device=device, ts=sample.ts, status=Status.OK, sys_uptime=sample.sys_uptime)
    series = await exposition(device, Role.ROUTER, [system, sample])
    oper = {i: v for (name, i), v in series.items() if name == "netmon_interface_oper_up"}
    assert oper == {name: float(s == 1) for name, ((s, _), _) in OPER_STATES.items() if s is not None}


# ---- the system group: multi-line sysDescr, no sysObjectID, empty sysName, sysUpTime near its wrap ----

SYSTEM_ODD_DESCR = (
    "a multi-line sysDescr (CRLF), no sysObjectID, an empty sysName, sysUpTime 296 s before its 2^32 wrap\r\n"
    "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11\r\n"
    "Technical Support: http://www.cisco.com/techsupport"
)


@pytest.mark.parametrize("version", VERSIONS)
async def test_system_group_as_agents_fill_it(snmpsim_agent: Simulator, version: str) -> None:
    """sysDescr is kept whole, line ends and all; an absent object is None, an empty one "" (RFC 3418 sysName)."""
    poller, target = corpus_target(snmpsim_agent, "system-odd", version, role=Role.SWITCH, unit="P")
    system = await poller.system(target)
    assert system.status is Status.OK, system.error
    got = (system.sys_descr, system.sys_object_id, system.sys_name, system.sys_uptime)
    assert got == (SYSTEM_ODD_DESCR, None, "", 2**32 - 296)
    for column, present in ((1, True), (2, False), (3, True), (5, True)):  # net-snmp sees the same objects
        assert bool(snmpwalk(snmpsim_agent, "system-odd", version, f"1.3.6.1.2.1.1.{column}")) is present
    sample = await poller.interfaces(target, uptime=system.sys_uptime)
    assert [(row.name, row.oper_status) for row in sample.interfaces] == [("Fa0/1", 1)]
    series = await exposition("system-odd", Role.SWITCH, [system, sample])
    assert series[("netmon_device_uptime_seconds", None)] == (2**32 - 296) / 100
    assert series[("netmon_snmp_up", None)] == 1


# ---- decomposed UTF-8 (NFD) and a trailing CRLF -------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_decomposed_utf8_is_composed(snmpsim_agent: Simulator, version: str) -> None:
    """NFD and NFC spell the same name: one identity (NFC), so that a link names the port either way."""
    poller, target = corpus_target(snmpsim_agent, "text-nfd", version, role=Role.ROUTER, unit="P")
    system = await poller.system(target)
    assert system.sys_name == "router-Đồng-Hới"
    assert system.sys_name == unicodedata.normalize("NFC", system.sys_name)
    sample = await poller.interfaces(target, uptime=system.sys_uptime)
    assert {row.if_index: (row.name, row.alias) for row in sample.interfaces} == {
        1: ("Cổng-1", "Phòng Tài chính"),
        2: ("ether2", "uplink VNPT\r\n"),  # ifAlias is the operator's text: kept as typed, line end and all
    }
    walked = snmpwalk(snmpsim_agent, "text-nfd", version, IF_NAME)
    assert bytes.fromhex(walked[1].replace(" ", "")).decode() == unicodedata.normalize("NFD", "Cổng-1")
    series = await exposition("text-nfd", Role.ROUTER, [system, sample])
    assert ("netmon_interface_oper_up", "Cổng-1") in series  # the NFC label


# ---- hrStorage of every hrStorageType, empty removable media, one CPU -----------------------------

MIB = 1024 * 1024
HOST_TYPES = {  # hrStorageDescr: (size, used) in bytes, hrStorageSize x hrStorageAllocationUnits (RFC 2790)
    "Physical memory": (3_921_524 * KIB, 3_650_112 * KIB),  # hrStorageRam
    "Virtual memory": (5_918_672 * KIB, 3_701_320 * KIB),  # hrStorageVirtualMemory
    "Memory buffers": (3_921_524 * KIB, 102_400 * KIB),  # hrStorageOther
    "/": (2_563_397 * PAGE, 1_234_567 * PAGE),  # hrStorageFixedDisk
    "/media/cdrom0": (0, 0),  # hrStorageRemovableDisk without media: 0 bytes is the truth, not unknown
    "/mnt/share": (2_000_000 * MIB, 1_500_000 * MIB),  # hrStorageNetworkDisk, 1 MiB units: 2 TB
    "/mnt/usb": (0, 0),  # hrStorageFlashMemory
}


@pytest.mark.parametrize("version", VERSIONS)
async def test_storage_of_every_type_and_a_single_cpu(snmpsim_agent: Simulator, version: str) -> None:
    poller, target = corpus_target(snmpsim_agent, "host-types", version, role=Role.SERVER, unit="P")
    sample = await poller.host_resources(target)
    assert sample.status is Status.OK, sample.error
    assert {row.descr: (row.size_bytes, row.used_bytes) for row in sample.storage} == HOST_TYPES
    assert sample.cpu_load == (42,)
    series = await exposition("host-types", Role.SERVER, [sample])
    assert series[("netmon_host_storage_size_bytes", "/media/cdrom0")] == 0
    assert series[("netmon_host_storage_size_bytes", "/mnt/share")] == 2_000_000 * MIB
    assert {label: v for (name, label), v in series.items() if name == "netmon_host_cpu_load_ratio"} == {"196608": 0.42}
    sizes = snmpwalk(snmpsim_agent, "host-types", version, "1.3.6.1.2.1.25.2.3.1.5")
    assert sorted(int(v) for v in sizes.values()) == sorted(
        [3_921_524, 5_918_672, 3_921_524, 2_563_397, 0, 2_000_000, 0]
    )


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_cpu_keeps_its_label_when_another_row_is_missing_or_out_of_range(
    snmpsim_agent: Simulator, version: str
) -> None:
    """The `cpu` label is hrDeviceIndex (RFC 2790's identity of the row), not the position among valid loads.

    By position, CPU 4 (the first valid load) was "0" and CPU 6 was "1": one more valid row, and
    every label after it would name another processor.
    """
    poller, target = corpus_target(snmpsim_agent, "host-cpu-gaps", version, role=Role.SERVER, unit="P")
    sample = await poller.host_resources(target)
    assert sample.status is Status.OK, sample.error
    assert (sample.cpu_index, sample.cpu_load) == ((4, 6), (35, 60))  # hrProcessorLoad -1 is not a load
    assert set(snmpwalk(snmpsim_agent, "host-cpu-gaps", version, "1.3.6.1.2.1.25.3.3.1.2")) == {3, 4, 6}
    series = await exposition("host-cpu-gaps", Role.SERVER, [sample])
    assert {label: v for (name, label), v in series.items() if name == "netmon_host_cpu_load_ratio"} == {
        "4": 0.35,
        "6": 0.6,
    }
