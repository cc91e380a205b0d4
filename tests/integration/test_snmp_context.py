"""SNMPv3 contexts (issue 13, item 12) against real net-snmp agents: the contextName is really sent.

net-snmp serves a non-default context only through `proxy -Cn CONTEXT ...` (or AgentX
subagents). The front agent here answers for itself in the default context, where netmon's user
sees only the system group, and proxies context `vlan20` to a second agent, where the user sees
everything: the same OID gives another value (sysName), or only answers (IF-MIB,
HOST-RESOURCES), in the named context. netmon's samples are compared field by field with
`snmpget -n vlan20` / `snmpwalk -n vlan20` of the same agent, and with gufo polling the second
agent directly: the pysnmp client (context profiles) and gufo (all others) must agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from netmon.config import Config, SnmpProfile
from netmon.discovery.snmpread import Reader, context_engines, identify
from netmon.inventory.models import Level, Role
from netmon.inventory.spec import DeviceSpec, Inventory, UnitSpec
from netmon.inventory.store import Store
from netmon.lab.agents import AgentSpec, start_agent, stop_agent
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.outages import OutageLedger
from netmon.monitor.rounds import RoundResult
from netmon.monitor.topology import interface_key
from netmon.pollers.base import Status, Target
from netmon.pollers.ifmib import interface_ids
from netmon.pollers.snmp import SnmpPoller
from netmon.pollers.snmpctx import ContextEngines, ContextSession
from netmon.pollers.snmpwalk import WalkLimits, walk_column
from tests.conftest import free_udp_port

FRONT, BACK = "127.77.12.1", "127.77.12.2"
CONTEXT, OTHER = "vlan20", "vlan30"
AUTH_KEY, PRIV_KEY, ONLY_KEY = "t-ctx-auth-1", "t-ctx-priv-1", "t-ctx-only-1"
FAST = Config.model_validate({"polling": {"snmp": {"timeout": 0.5, "retries": 1}}}).polling.snmp
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
SYS = {"sys_descr": "1.3.6.1.2.1.1.1.0", "sys_object_id": "1.3.6.1.2.1.1.2.0", "sys_name": "1.3.6.1.2.1.1.5.0"}
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


@dataclass(frozen=True)
class Agents:
    """The front agent (contexts) and the agent behind `vlan20`, with the profiles that reach them."""

    front_port: int
    back_port: int
    profiles: dict[str, SnmpProfile]


def _v3(port: int, context: str, *, user: str = "ctx-user", auth: str = AUTH_KEY) -> dict[str, Any]:
    key = ONLY_KEY if user == "ctx-only" else PRIV_KEY
    return {
        "version": 3,
        "user": user,
        "auth_protocol": "sha256",
        "auth_key": auth,
        "priv_protocol": "aes128",
        "priv_key": key,
        "context": context,
        "port": port,
    }


def _front_lines(back_port: int) -> tuple[str, ...]:
    return (
        f"createUser ctx-user SHA-256 {AUTH_KEY} AES {PRIV_KEY}",
        f"createUser ctx-only SHA-256 {AUTH_KEY} AES {ONLY_KEY}",
        "group ctx-group usm ctx-user",
        "group ctx-only-group usm ctx-only",
        "view ctx-system included .1.3.6.1.2.1.1",
        "view ctx-all included .1.3",
        # the default context: the front agent's own system group only
        'access ctx-group "" usm priv exact ctx-system none none',
        f"access ctx-group {CONTEXT} usm priv exact ctx-all none none",
        f"access ctx-only-group {CONTEXT} usm priv exact ctx-all none none",  # no access in the default context
        f"proxy -Cn {CONTEXT} -v 2c -c ctx-back udp:{BACK}:{back_port} .1.3",
        # a second context that only ctx-user may read: ctx-only gets the agent's authorizationError there
        f"access ctx-group {OTHER} usm priv exact ctx-all none none",
        f"proxy -Cn {OTHER} -v 2c -c ctx-back udp:{BACK}:{back_port} .1.3.6.1.2.1.1",
    )


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agents]:
    back_port, front_port = free_udp_port(BACK), free_udp_port(FRONT)
    community = {"back": {"version": "2c", "community": "ctx-back", "port": back_port}}
    back_profiles = Config.model_validate({"snmp_profiles": community}).snmp_profiles
    back = start_agent(
        AgentSpec(name="ctx-back", port=back_port, addresses=(BACK,), profiles=back_profiles, sys_name="ctx-back"),
        tmp_path_factory.mktemp("ctx-back"),
    )
    try:
        spec = AgentSpec(
            name="ctx-front",
            port=front_port,
            addresses=(FRONT, "::1"),
            sys_name="ctx-front",
            extra_lines=_front_lines(back_port),
        )
        front = start_agent(spec, tmp_path_factory.mktemp("ctx-front"))
        try:
            raw = {
                "in-context": _v3(front_port, CONTEXT),
                "default-context": _v3(front_port, ""),
                "unknown-context": _v3(front_port, "vlan99"),
                "only-in-context": _v3(front_port, CONTEXT, user="ctx-only"),
                "only-default-context": _v3(front_port, "", user="ctx-only"),
                "only-other-context": _v3(front_port, OTHER, user="ctx-only"),
                "wrong-key": _v3(front_port, CONTEXT, auth="not-the-ctx-key"),
                **community,
            }
            profiles = Config.model_validate({"snmp_profiles": raw}).snmp_profiles
            yield Agents(front_port=front_port, back_port=back_port, profiles=dict(profiles))
        finally:
            assert stop_agent(front)
    finally:
        assert stop_agent(back)


def _target(profile: str, *, address: str = FRONT, role: Role = Role.ROUTER) -> Target:
    return Target(device="ctx-dut", address=address, unit="U", role=role, snmp=profile)


def _net_snmp(tool: str, agents: Agents, oid: str, *, context: str = CONTEXT) -> dict[str, str]:
    """Run snmpget/snmpwalk -n *context* as netmon's user; return {OID: value} as printed (-Oqv off)."""
    command = [
        tool,
        *("-v3", "-l", "authPriv", "-u", "ctx-user", "-a", "SHA-256", "-A", AUTH_KEY, "-x", "AES", "-X", PRIV_KEY),
        *("-n", context, "-On", "-Oq", "-Oe", "-OU", "-Ot", "-t", "2", "-r", "1"),
        f"{FRONT}:{agents.front_port}",
        oid,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    got = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" ")
        if not value.startswith(("No Such", "No more")):
            got[name.lstrip(".")] = value.strip().strip('"')
    return got


async def test_the_system_group_is_read_in_the_context_field_by_field(agents: Agents) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        before = int(_net_snmp("snmpget", agents, SYS_UPTIME)[SYS_UPTIME])
        sample = await poller.system(_target("in-context"))
        after = int(_net_snmp("snmpget", agents, SYS_UPTIME)[SYS_UPTIME])
        default = await poller.system(_target("default-context"))  # gufo: the default context
    finally:
        await poller.aclose()
    assert sample.status is Status.OK, sample.error
    for field, oid in SYS.items():
        printed = _net_snmp("snmpget", agents, oid)
        assert getattr(sample, field) == printed[oid].lstrip("."), field
    assert sample.sys_name == "ctx-back"  # the agent behind the context, not the front one
    assert sample.sys_uptime is not None
    assert before <= sample.sys_uptime <= after
    assert (default.status, default.sys_name) == (Status.OK, "ctx-front")
    assert _net_snmp("snmpget", agents, SYS["sys_name"], context="")[SYS["sys_name"]] == "ctx-front"


async def test_the_context_is_sent_over_ipv6(agents: Agents) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        sample = await poller.system(_target("in-context", address="::1"))
    finally:
        await poller.aclose()
    assert (sample.status, sample.sys_name) == (Status.OK, "ctx-back")


async def test_interfaces_only_answer_in_the_context_and_match_gufo(agents: Agents) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        in_context = await poller.interfaces(_target("in-context"))
        default = await poller.interfaces(_target("default-context"))
        direct = await poller.interfaces(_target("back", address=BACK))  # gufo, v2c, straight to the agent
    finally:
        await poller.aclose()
    assert in_context.status is Status.OK, in_context.error
    polled = {row.if_index: row.name for row in in_context.interfaces}
    walked = {int(oid.rsplit(".", 1)[1]): name for oid, name in _net_snmp("snmpwalk", agents, IF_NAME).items()}
    common = polled.keys() & walked.keys()  # an interface made or removed meanwhile (see below) aside
    assert 1 in common
    assert {i: polled[i] for i in common} == {i: walked[i] for i in common}
    fields = ("if_index", "name", "alias", "speed_bps", "admin_status", "oper_status", "counter_bits")
    through, straight = (
        {r.if_index: {f: getattr(r, f) for f in fields} for r in sample.interfaces} for sample in (in_context, direct)
    )
    # The agents show the host's interfaces: a parallel test's veth pair may appear between two column
    # walks (its name read, its status not yet). Compare the rows that both polls read whole.
    whole = [
        i
        for i in through.keys() & straight.keys()
        if None not in (through[i]["admin_status"], straight[i]["admin_status"])
    ]
    assert 1 in whole  # lo, at least
    assert {i: through[i] for i in whole} == {i: straight[i] for i in whole}
    assert in_context.walk_notes == direct.walk_notes == ()
    assert (default.status, default.interfaces) == (Status.OK, ())  # the default context's view ends at once


async def test_host_resources_in_the_context_match_gufo(agents: Agents) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        in_context = await poller.host_resources(_target("in-context", role=Role.SERVER))
        direct = await poller.host_resources(_target("back", address=BACK, role=Role.SERVER))
        default = await poller.host_resources(_target("default-context", role=Role.SERVER))
    finally:
        await poller.aclose()
    assert in_context.status is Status.OK, in_context.error
    assert [(r.index, r.descr, r.size_bytes) for r in in_context.storage] == [
        (r.index, r.descr, r.size_bytes) for r in direct.storage
    ]
    assert len(in_context.cpu_load) == len(direct.cpu_load)
    assert default.status is Status.NO_SUCH_OBJECT  # not in the default context's view


COLUMNS = [
    "1.3.6.1.2.1.2.2.1.2",  # ifDescr: OCTET STRING
    "1.3.6.1.2.1.2.2.1.3",  # ifType: INTEGER
    "1.3.6.1.2.1.2.2.1.5",  # ifSpeed: Gauge32
    "1.3.6.1.2.1.2.2.1.6",  # ifPhysAddress: binary OCTET STRING
    "1.3.6.1.2.1.4.20.1.1",  # ipAdEntAddr: IpAddress
    "1.3.6.1.2.1.25.2.3.1.2",  # hrStorageType: OBJECT IDENTIFIER
    "1.3.6.1.2.1.31.1.1.1.15",  # ifHighSpeed: Gauge32
]


@pytest.mark.parametrize("column", COLUMNS)
async def test_values_are_decoded_as_gufo_gives_them(agents: Agents, column: str) -> None:
    """Every value type reaches `snmptext` in the same Python type and value from either client."""
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        async with poller._open(_target("in-context")) as pysnmp_side:
            via_context = await pysnmp_side.walk(column)
        async with poller._open(_target("back", address=BACK)) as gufo_side:
            direct = await gufo_side.walk(column)
    finally:
        await poller.aclose()
    assert via_context
    assert [(k, type(v), v) for k, v in via_context.items()] == [(k, type(v), v) for k, v in direct.items()]


@pytest.mark.parametrize(
    ("limits", "stop", "rows"),
    [
        pytest.param(WalkLimits(max_requests=1), "requests", 2, id="requests"),
        pytest.param(WalkLimits(max_rows=3), "rows", 3, id="rows"),
        pytest.param(WalkLimits(seconds=0), "time", 0, id="time"),
    ],
)
async def test_walk_limits_bound_a_context_walk(agents: Agents, limits: WalkLimits, stop: str, rows: int) -> None:
    engines = ContextEngines()
    try:
        session = ContextSession(engines, FRONT, agents.profiles["in-context"], 1.0)
        walk = await walk_column(session, IF_NAME, repetitions=2, bulk=True, limits=limits)
        whole = await walk_column(session, IF_NAME, repetitions=2, bulk=True)
    finally:
        await engines.aclose()
    assert (walk.stop, len(walk.rows)) == (stop, rows)
    assert whole.stop == "end"
    assert len(whole.rows) > 3
    assert walk.rows == {k: whole.rows[k] for k in list(whole.rows)[:rows]}


async def test_one_engine_serves_every_poll_of_a_poller(agents: Agents) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        for _ in range(3):
            assert (await poller.system(_target("in-context"))).ok
        assert (await poller.interfaces(_target("in-context"))).ok
        assert poller._contexts is not None
        assert len(poller._contexts) == 1  # one set of credentials: one pysnmp engine for all five polls
        assert (await poller.system(_target("only-in-context"))).ok
        assert len(poller._contexts) == 2
    finally:
        await poller.aclose()
    assert len(poller._contexts) == 0


FAILURES = [
    pytest.param(
        "unknown-context",
        Status.ERROR,
        "no reply after 2 attempts in context 'vlan99', but the agent answers in the default context: it does "
        "not serve that context (an agent drops requests for an unknown context, RFC 3413 3.2)",
        id="unknown-context",
    ),
    pytest.param(
        "only-default-context",  # gufo: it cannot tell authorizationError from a USM report
        Status.AUTH_FAILED,
        "SNMPv3 authentication failed or access denied (user, keys, protocols or view)",
        id="no-access-in-the-default-context",
    ),
    pytest.param(
        "only-other-context",  # pysnmp: the agent's own error-status
        Status.AUTH_FAILED,
        "the agent denied access (authorizationError): no view for this user in context 'vlan30'",
        id="no-access-in-that-context",
    ),
    pytest.param(
        "wrong-key",
        Status.AUTH_FAILED,
        "SNMPv3 authentication failed: Wrong SNMP PDU digest",
        id="wrong-key-in-a-context",
    ),
]


@pytest.mark.parametrize(("profile", "status", "error"), FAILURES)
async def test_a_wrong_context_or_key_is_the_agents_error_in_the_sample(
    agents: Agents, profile: str, status: Status, error: str
) -> None:
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        sample = await poller.system(_target(profile))
        interfaces = await poller.interfaces(_target(profile))
    finally:
        await poller.aclose()
    assert (sample.status, sample.error, sample.sys_name) == (status, error, None)
    assert interfaces.status is status
    shown = repr(sample.to_dict()) + repr(interfaces.to_dict())
    assert not any(secret in shown for secret in (AUTH_KEY, PRIV_KEY, ONLY_KEY, "not-the-ctx-key"))


async def test_an_authorization_error_is_an_answer_from_the_default_context(agents: Agents) -> None:
    """The unknown-context probe counts any reply as the agent's: ctx-only is refused there, yet answered."""
    engines = ContextEngines()
    try:
        session = ContextSession(engines, FRONT, agents.profiles["only-in-context"], 1.0)
        assert await session.get("1.3.6.1.2.1.1.5.0") == b"ctx-back"
        assert await session.answers_default_context()  # authorizationError there is still an answer
    finally:
        await engines.aclose()


async def test_context_samples_are_stored_on_both_databases(agents: Agents, store: Store) -> None:
    inventory = Inventory(
        units={"P": UnitSpec(code="P", name="Tỉnh Ninh Bình", level=Level.PROVINCE)},
        devices={"ctx-dut": DeviceSpec(name="ctx-dut", unit="P", role=Role.SWITCH, address=FRONT)},
        links={},
    )
    live = LiveState(Config.model_validate({}), inventory, MaintenanceSchedule(inventory, ZoneInfo("UTC")))
    poller = SnmpPoller(agents.profiles, FAST)
    try:
        sample = await poller.interfaces(_target("in-context"))
    finally:
        await poller.aclose()
    assert sample.ok, sample.error
    live.record([sample])
    transitions = live.conclude(
        RoundResult(poll_class="snmp", started=sample.ts, duration=0.0, samples=(sample,)), sample.ts
    )
    ledger = OutageLedger(store.engine)
    ledger.apply(transitions)
    stored = {row.name for row in ledger.last_states() if row.kind == "interface"}
    # the state engine follows the interfaces that are administratively up, by their identity: the agent
    # shows this host's interfaces, and a parallel test's veth pair may give two of them one name for a moment
    ids = interface_ids(sample.interfaces)
    assert stored == {
        interface_key("ctx-dut", ids[row.if_index])[1] for row in sample.interfaces if row.admin_status == 1
    }
    assert stored


def test_poll_once_sends_the_context(agents: Agents, db_url: str, tmp_path: Path) -> None:
    """`netmon poll --once --json` from a config file: the context profile's device answers as ctx-back."""
    netmon = shutil.which("netmon", path=str(Path(sys.executable).parent))
    assert netmon is not None
    config = {"database": {"url": db_url}, "snmp_profiles": {"ctx": _v3(agents.front_port, CONTEXT)}}
    (tmp_path / "netmon.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    inventory = {
        "units": [{"code": "P", "name": "Tỉnh Ninh Bình", "level": "province"}],
        "devices": [{"name": "ctx-dut", "unit": "P", "role": "switch", "address": FRONT, "snmp": "ctx"}],
        "links": [],
    }
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(inventory, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETMON_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [netmon, *args, "--config", "netmon.yaml"]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)

    checked = run("check-config")
    assert checked.returncode == 0, checked.stderr
    assert "ctx (v3 authPriv, context 'vlan20', port" in checked.stdout
    for args in (["db", "upgrade"], ["inventory", "import", "inventory.yaml"], ["poll", "--once", "--json"]):
        done = run(*args)
        assert done.returncode == 0, done.stderr
    samples = {(s["device"], s["kind"]): s for s in json.loads(done.stdout)}
    system = samples[("ctx-dut", "snmp_system")]
    assert (system["status"], system["sys_name"]) == ("ok", "ctx-back")
    assert samples[("ctx-dut", "snmp_interfaces")]["status"] == "ok"
    assert samples[("ctx-dut", "snmp_interfaces")]["interfaces"]
    assert not any(key in done.stdout + done.stderr + checked.stdout for key in (AUTH_KEY, PRIV_KEY))


async def test_discovery_identifies_in_the_context(agents: Agents) -> None:
    """`netmon discover` reads through the same client: the first profile that answers names the device."""
    pairs = [(name, agents.profiles[name]) for name in ("unknown-context", "in-context")]
    contexts = context_engines(profile for _, profile in pairs)
    assert contexts is not None
    try:
        identity = await identify(FRONT, pairs, contexts=contexts)
        walked = await Reader(FRONT, agents.profiles["in-context"], contexts=contexts).walk(IF_NAME)
    finally:
        await contexts.aclose()
    assert identity is not None
    assert (identity.profile, identity.sys_name) == ("in-context", "ctx-back")
    assert {oid: value.decode() for oid, value in walked if isinstance(value, bytes)} == _net_snmp(
        "snmpwalk", agents, IF_NAME
    )
    assert context_engines([agents.profiles["back"], agents.profiles["default-context"]]) is None
