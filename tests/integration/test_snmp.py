"""The SNMP poller against a real snmpd, checked against snmpwalk of the same agent."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.config import Config
from netmon.inventory.models import Role
from netmon.kernel import Status, Target
from netmon.lab.agents import AgentSpec, start_agent, stop_agent
from netmon.pollers.snmp import SnmpPoller
from tests.conftest import AGENT_SYS_NAME, AgentUnderTest, free_udp_port, lab_profiles

PROFILES = ["v1", "v2c", "v3-authnopriv", "v3-authpriv"]
FAST = Config.model_validate({"polling": {"snmp": {"timeout": 0.3, "retries": 1}}}).polling.snmp


def _net_snmp_args(agent: AgentUnderTest, profile_name: str) -> list[str]:
    """The same credentials as snmpwalk/snmpget arguments."""
    p = agent.profiles[profile_name]
    if p.version != "3":
        assert p.community is not None
        return ["-v", "1" if p.version == "1" else "2c", "-c", p.community.reveal()]
    args = ["-v3", "-u", p.user or "", "-l", p.security_level]
    if p.auth_protocol and p.auth_key:
        args += ["-a", {"sha": "SHA", "sha256": "SHA-256"}[p.auth_protocol], "-A", p.auth_key.reveal()]
    if p.priv_protocol and p.priv_key:
        args += ["-x", "AES", "-X", p.priv_key.reveal()]
    return args


def snmpwalk(agent: AgentUnderTest, profile: str, oid: str) -> dict[int, str]:
    """Walk *oid* with net-snmp's snmpwalk; return values by last sub-identifier."""
    command = ["snmpwalk", "-On", "-Oq", "-Oe", "-OU", "-t", "2", "-r", "1", *_net_snmp_args(agent, profile)]
    done = subprocess.run(
        [*command, f"{agent.address}:{agent.port}", oid], capture_output=True, text=True, timeout=30, check=True
    )
    walked = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(" ")
        if value.startswith("No Such"):  # an empty subtree: snmpwalk GETs the base and prints this
            continue
        walked[int(name.rsplit(".", 1)[1])] = value.strip().strip('"')
    return walked


def _target(agent: AgentUnderTest, profile: str, role: Role = Role.ROUTER, address: str | None = None) -> Target:
    return Target(device="dut", address=address or agent.address, unit="U", role=role, snmp=profile)


@pytest.mark.parametrize("profile", PROFILES)
async def test_system_group_matches_the_agent(snmp_agent: AgentUnderTest, profile: str) -> None:
    poller = SnmpPoller(snmp_agent.profiles, FAST)
    sample = await poller.system(_target(snmp_agent, profile))
    assert sample.status is Status.OK, sample.error
    assert sample.sys_name == AGENT_SYS_NAME
    assert sample.sys_object_id == snmpwalk(snmp_agent, profile, "1.3.6.1.2.1.1.2")[0].lstrip(".")
    assert sample.sys_uptime is not None
    assert sample.sys_uptime > 0


async def test_ipv6_agent(snmp_agent: AgentUnderTest) -> None:
    poller = SnmpPoller(snmp_agent.profiles, FAST)
    sample = await poller.system(_target(snmp_agent, "v3-authpriv", address="::1"))
    assert (sample.status, sample.sys_name) == (Status.OK, AGENT_SYS_NAME)


@pytest.mark.parametrize("profile", PROFILES)
async def test_interfaces_match_snmpwalk(snmp_agent: AgentUnderTest, profile: str) -> None:
    poller = SnmpPoller(snmp_agent.profiles, FAST)
    v1 = profile == "v1"
    octets_oid = "1.3.6.1.2.1.2.2.1.10" if v1 else "1.3.6.1.2.1.31.1.1.1.6"
    for _poll in range(2):  # the first poll walks; the second GETs the walked cells (v2c, v3; netmon.pollers.ifplan)
        before = snmpwalk(snmp_agent, profile, octets_oid)
        sample = await poller.interfaces(_target(snmp_agent, profile))
        after = snmpwalk(snmp_agent, profile, octets_oid)
        assert sample.status is Status.OK, sample.error
        names = snmpwalk(snmp_agent, profile, "1.3.6.1.2.1.31.1.1.1.1")
        # the agent shows the host's interfaces: a parallel test's veth pair may come or go meanwhile,
        # so compare the interfaces that existed from the first walk to the last
        stable = before.keys() & after.keys() & names.keys()
        rows = {row.if_index: row for row in sample.interfaces if row.if_index in stable}
        assert stable
        assert rows.keys() == stable
        assert {index: row.name for index, row in rows.items()} == {i: names[i] for i in stable}
        assert {row.counter_bits for row in sample.interfaces} == {32 if v1 else 64}
        oper = snmpwalk(snmp_agent, profile, "1.3.6.1.2.1.2.2.1.8")
        for row in rows.values():
            # Counters move while we poll (our own traffic crosses lo): netmon's reading lies between two walks.
            assert row.in_octets is not None
            assert int(before[row.if_index]) <= row.in_octets <= int(after[row.if_index])
            assert str(row.oper_status) == oper.get(row.if_index, str(row.oper_status))  # gone since: not compared


async def test_host_resources_match_snmpwalk(snmp_agent: AgentUnderTest) -> None:
    poller = SnmpPoller(snmp_agent.profiles, FAST)
    sample = await poller.host_resources(_target(snmp_agent, "v2c", Role.SERVER))
    assert sample.status is Status.OK, sample.error
    assert {row.index: row.descr for row in sample.storage} == snmpwalk(snmp_agent, "v2c", "1.3.6.1.2.1.25.2.3.1.3")
    assert len(sample.cpu_load) == len(snmpwalk(snmp_agent, "v2c", "1.3.6.1.2.1.25.3.3.1.2"))
    assert all(0 <= load <= 100 for load in sample.cpu_load)


FAILURES = [
    pytest.param(
        {"version": "2c", "community": "wrong-community"},
        Status.TIMEOUT,
        "no reply after 2 attempts",
        id="wrong-community",
    ),
    pytest.param(
        {
            "version": 3,
            "user": "netmon",
            "auth_protocol": "sha256",
            "auth_key": "not-the-key",
            "priv_protocol": "aes128",
            "priv_key": "t-priv-key-2",
        },
        Status.AUTH_FAILED,
        "SNMPv3 authentication failed or access denied (user, keys, protocols or view)",
        id="wrong-v3-key",
    ),
]


@pytest.mark.parametrize(("settings", "status", "error"), FAILURES)
async def test_failures_are_samples(
    snmp_agent: AgentUnderTest, settings: dict[str, object], status: Status, error: str
) -> None:
    profiles = Config.model_validate({"snmp_profiles": {"p": {**settings, "port": snmp_agent.port}}}).snmp_profiles
    sample = await SnmpPoller(profiles, FAST).system(_target(snmp_agent, "p"))
    assert (sample.status, sample.error, sample.sys_name) == (status, error, None)
    assert "not-the-key" not in repr(sample.to_dict())
    assert "wrong-community" not in repr(sample.to_dict())


async def test_no_agent_on_the_port_is_refused(snmp_agent: AgentUnderTest) -> None:
    port = free_udp_port(snmp_agent.address)
    profiles = lab_profiles(port)
    sample = await SnmpPoller(profiles, FAST).interfaces(_target(snmp_agent, "v2c"))
    assert sample.status is Status.REFUSED


@pytest.fixture
def hung_agent(tmp_path: Path) -> Iterator[AgentUnderTest]:
    """An snmpd that is bound but stopped (SIGSTOP): requests are never answered."""
    address = "127.77.0.2"
    port = free_udp_port(address)
    profiles = lab_profiles(port)
    agent = start_agent(AgentSpec(name="hung", port=port, addresses=(address,), profiles=profiles), tmp_path)
    os.kill(agent.pid, signal.SIGSTOP)
    yield AgentUnderTest(agent=agent, address=address, port=port, profiles=profiles)
    os.kill(agent.pid, signal.SIGCONT)
    stop_agent(agent)


async def test_hung_agent_times_out_as_a_sample(hung_agent: AgentUnderTest) -> None:
    sample = await SnmpPoller(hung_agent.profiles, FAST).system(_target(hung_agent, "v2c"))
    assert (sample.status, sample.error) == (Status.TIMEOUT, "no reply after 2 attempts")
    assert re.fullmatch(r"[0-9.]+", f"{sample.duration}")


class _Garbage(asyncio.DatagramProtocol):
    """An "agent" that answers every request with bytes that are not SNMP."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"\x30\x05\x02\x01\x07\xff\xff not snmp", addr)


async def test_an_agent_answering_garbage_is_a_bad_reply() -> None:
    address = "127.77.0.4"
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(_Garbage, local_addr=(address, 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        sample = await SnmpPoller(lab_profiles(port), FAST).system(
            Target(device="junk", address=address, unit="U", role=Role.ROUTER, snmp="v2c")
        )
    finally:
        transport.close()
    assert (sample.status, sample.error) == (Status.BAD_REPLY, "the reply could not be decoded")


async def test_an_agent_restarted_in_the_same_folder_is_ready_when_start_returns(tmp_path: Path) -> None:
    address = "127.77.0.5"
    for _ in range(2):  # the second start finds the first run's log in the folder
        port = free_udp_port(address)
        agent = start_agent(
            AgentSpec(name="again", port=port, addresses=(address,), profiles=lab_profiles(port)), tmp_path
        )
        try:
            sample = await SnmpPoller(lab_profiles(port), FAST).system(
                Target(device="again", address=address, unit="U", role=Role.ROUTER, snmp="v2c")
            )
        finally:
            stop_agent(agent)
        assert sample.status is Status.OK
