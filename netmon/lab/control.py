"""Bring the scale lab up and down: snmpd agents on loopback serving the inventory's devices.

The devices of one SNMP port are dealt out to as many agents as their addresses need: net-snmp
copies the `agentAddress` line into a 2,560-byte buffer (SPRINT_MAX_LEN) and cuts it short without a
word, and a second `agentAddress` line appends to the same buffer (docs/lab.md, FIELD-NOTES). So an
agent serves at most `MAX_ADDRESSES` addresses whose endpoints fit in `agents.ADDRESS_BUDGET` bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from netmon.config import SnmpProfile
from netmon.inventory.spec import Inventory
from netmon.lab.agents import (
    ADDRESS_BUDGET,
    AgentSpec,
    LabError,
    RunningAgent,
    endpoint,
    is_running,
    load_state,
    save_state,
    start_agent,
    stop_agent,
)

__all__ = ["MAX_ADDRESSES", "STATE_FILE", "chunk_addresses", "lab_down", "lab_specs", "lab_status", "lab_up"]

STATE_FILE = "lab.json"
#: Addresses one lab snmpd serves at most (FIELD-NOTES: ~114 short IPv4 endpoints fit net-snmp's buffer).
MAX_ADDRESSES = 100


def chunk_addresses(addresses: list[str], port: int) -> list[tuple[str, ...]]:
    """Split *addresses* into groups of at most MAX_ADDRESSES whose endpoint list fits ADDRESS_BUDGET bytes.

    Each group becomes one snmpd's `agentAddress` line, `udp:A:PORT,udp6:[B]:PORT,...`. Order is kept.
    Raises LabError (from `agents.endpoint`) for an address outside loopback and 198.18.0.0/15.
    """
    groups: list[tuple[str, ...]] = []
    group: list[str] = []
    size = 0
    for address in addresses:
        length = len(endpoint(address, port)) + 1  # and its comma
        if group and (len(group) == MAX_ADDRESSES or size + length > ADDRESS_BUDGET):
            groups.append(tuple(group))
            group, size = [], 0
        group.append(address)
        size += length
    if group:
        groups.append(tuple(group))
    return groups


def lab_specs(inventory: Inventory, profiles: Mapping[str, SnmpProfile]) -> list[AgentSpec]:
    """Group the enabled SNMP devices by their profile's port, then into agents that net-snmp can bind.

    Agents are named `agent-PORT-K` (K from 1), each with at most MAX_ADDRESSES addresses; see
    chunk_addresses. Every agent of a port gets all the profiles that use the port.
    """
    by_port: dict[int, list[str]] = defaultdict(list)
    port_profiles: dict[int, dict[str, SnmpProfile]] = defaultdict(dict)
    for device in inventory.devices.values():
        if device.snmp is None or not device.enabled:
            continue
        profile = profiles[device.snmp]
        by_port[profile.port].append(device.address)
        port_profiles[profile.port][device.snmp] = profile
    return [
        AgentSpec(name=f"agent-{port}-{k}", port=port, addresses=chunk, profiles=port_profiles[port])
        for port, addresses in sorted(by_port.items())
        for k, chunk in enumerate(chunk_addresses(addresses, port), start=1)
    ]


def lab_up(inventory: Inventory, profiles: Mapping[str, SnmpProfile], state_dir: Path) -> list[RunningAgent]:
    """Start the agents (after stopping a previous lab in the same folder) and record their PIDs."""
    lab_down(state_dir)
    specs = lab_specs(inventory, profiles)
    if not specs:
        raise LabError("no enabled device in the inventory has an SNMP profile: nothing to serve")
    for spec in specs:
        if spec.port < 1024:
            raise LabError(f"{spec.name}: the lab serves high ports only; give the lab profiles a port like 16161")
    started: list[RunningAgent] = []
    try:
        for spec in specs:
            started.append(start_agent(spec, state_dir / spec.name))
            save_state(state_dir / STATE_FILE, started)
    except BaseException:
        for agent in started:
            stop_agent(agent)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        raise
    return started


def lab_down(state_dir: Path) -> list[RunningAgent]:
    """Stop every recorded agent; return those that were running."""
    stopped = [agent for agent in load_state(state_dir / STATE_FILE) if stop_agent(agent)]
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return stopped


def lab_status(state_dir: Path) -> list[tuple[RunningAgent, bool]]:
    """Return each recorded agent and whether it is running."""
    return [(agent, is_running(agent)) for agent in load_state(state_dir / STATE_FILE)]
