"""The loopback lab serves any number of addresses: several hundred devices, every one answers SNMP.

net-snmp keeps only 2,560 bytes of an `agentAddress` line (FIELD-NOTES), so one snmpd per port
used to bind ~114 of 560 addresses and leave the rest `refused`. The lab now deals the addresses
out to agents of at most 100; this test polls every address with netmon's own SNMP poller.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.config import Config
from netmon.inventory.spec import DeviceSpec, Inventory
from netmon.lab.agents import ADDRESS_BUDGET, AgentSpec, LabError, endpoint, is_running, render_snmpd_conf
from netmon.lab.control import MAX_ADDRESSES, chunk_addresses, lab_down, lab_specs, lab_status, lab_up
from netmon.lab.generate import synthetic_province
from netmon.monitor.rounds import Pollers, run_round, targets_of
from netmon.pollers.base import Status, SystemSample
from tests.conftest import free_udp_port, lab_profiles


def _v4(n: int) -> list[str]:
    return [str(ipaddress.IPv4Address("127.64.0.1") + i) for i in range(n)]


@pytest.mark.parametrize(
    ("addresses", "port", "sizes"),
    [
        pytest.param([], 16161, [], id="none"),
        pytest.param(_v4(1), 16161, [1], id="one"),
        pytest.param(_v4(100), 16161, [100], id="exactly-100"),
        pytest.param(_v4(101), 16161, [100, 1], id="101"),
        pytest.param(_v4(560), 16161, [100] * 5 + [60], id="560-the-broken-case"),
        # 26 bytes an endpoint with its comma: 92 fit the budget before the count limit.
        pytest.param(["127.255.255.254"] * 200, 65535, [92, 92, 16], id="long-v4-by-bytes"),
        # udp6:[xxxx:...]:65535 is ~52 bytes: the byte budget decides, not the count.
        pytest.param(["::1"] * 3, 161, [3], id="short-v6"),
    ],
)
def test_chunks_keep_order_and_limits(addresses: list[str], port: int, sizes: list[int]) -> None:
    chunks = chunk_addresses(addresses, port)
    assert [len(c) for c in chunks] == sizes
    assert [a for c in chunks for a in c] == addresses


_LAB_V4 = st.builds(lambda n: str(ipaddress.IPv4Address("127.0.0.0") + n), st.integers(0, 2**24 - 1))
_LAB_V6 = st.just("::1")
_FAULT_V4 = st.builds(lambda n: str(ipaddress.IPv4Address("198.18.0.0") + n), st.integers(0, 2**17 - 1))


@given(addresses=st.lists(st.one_of(_LAB_V4, _LAB_V6, _FAULT_V4), max_size=400), port=st.integers(1, 65535))
def test_every_chunk_fits_net_snmp(addresses: list[str], port: int) -> None:
    for chunk in chunk_addresses(addresses, port):
        assert 1 <= len(chunk) <= MAX_ADDRESSES
        line = ",".join(endpoint(a, port) for a in chunk)
        assert len(line) <= ADDRESS_BUDGET
        render_snmpd_conf(AgentSpec(name="x", port=port, addresses=chunk), Path("/nonexistent"))  # no LabError
    assert [a for c in chunk_addresses(addresses, port) for a in c] == addresses


def test_an_address_list_net_snmp_would_cut_is_refused() -> None:
    spec = AgentSpec(name="too-long", port=16161, addresses=tuple(_v4(150)))
    with pytest.raises(LabError, match=r"too-long: 150 addresses take \d+ bytes"):
        render_snmpd_conf(spec, Path("/nonexistent"))


def test_an_address_outside_the_lab_is_refused() -> None:
    with pytest.raises(LabError, match=re.escape("loopback or 198.18.0.0/15 only, not 198.51.100.1")):
        chunk_addresses(["127.0.0.1", "198.51.100.1"], 16161)


def test_several_hundred_devices_all_answer_snmp(tmp_path: Path) -> None:
    doc = synthetic_province(700)
    profile = lab_profiles(free_udp_port("127.64.0.1"))["v2c"]
    profiles = {"lab-v2c": profile}
    devices = {row["name"]: DeviceSpec.model_validate(row) for row in doc["devices"]}
    inventory = Inventory(units={}, devices=devices, links={})
    snmp_devices = [d for d in devices.values() if d.snmp]
    assert len(snmp_devices) > 3 * MAX_ADDRESSES  # more than one agent per port could ever bind
    specs = lab_specs(inventory, profiles)
    assert len(specs) == -(-len(snmp_devices) // MAX_ADDRESSES)
    assert sorted(a for s in specs for a in s.addresses) == sorted(d.address for d in snmp_devices)

    state = tmp_path / "lab"
    agents = lab_up(inventory, profiles, state)
    try:
        assert [a.name for a in agents] == [s.name for s in specs]
        assert all(running for _, running in lab_status(state))
        config = Config.model_validate(
            {
                "snmp_profiles": {"lab-v2c": profile},
                "polling": {"snmp": {"interval": 60, "timeout": 2.0, "retries": 1}, "concurrency": 64},
            }
        )
        result = asyncio.run(run_round(Pollers(config), "snmp", targets_of(inventory), concurrency=64))
    finally:
        stopped = lab_down(state)
    systems = [s for s in result.samples if isinstance(s, SystemSample)]
    assert {s.device for s in systems} == {d.name for d in snmp_devices}
    not_ok = {s.device: f"{s.status}: {s.error}" for s in result.samples if s.status is not Status.OK}
    assert not_ok == {}
    assert all(s.sys_name == "netmon-lab" for s in systems)
    assert {a.pid for a in stopped} == {a.pid for a in agents}
    assert not any(is_running(a) for a in agents)
    assert lab_status(state) == []
