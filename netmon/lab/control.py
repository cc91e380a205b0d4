"""Bring the scale lab up and down: one snmpd per SNMP port, serving the inventory's devices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from netmon.config import SnmpProfile
from netmon.inventory.spec import Inventory
from netmon.lab.agents import (
    AgentSpec,
    LabError,
    RunningAgent,
    is_running,
    load_state,
    save_state,
    start_agent,
    stop_agent,
)

__all__ = ["STATE_FILE", "lab_down", "lab_specs", "lab_status", "lab_up"]

STATE_FILE = "lab.json"


def lab_specs(inventory: Inventory, profiles: Mapping[str, SnmpProfile]) -> list[AgentSpec]:
    """Group the enabled SNMP devices by their profile's port: one agent per port."""
    by_port: dict[int, list[str]] = defaultdict(list)
    port_profiles: dict[int, dict[str, SnmpProfile]] = defaultdict(dict)
    for device in inventory.devices.values():
        if device.snmp is None or not device.enabled:
            continue
        profile = profiles[device.snmp]
        by_port[profile.port].append(device.address)
        port_profiles[profile.port][device.snmp] = profile
    return [
        AgentSpec(name=f"agent-{port}", port=port, addresses=tuple(addresses), profiles=port_profiles[port])
        for port, addresses in sorted(by_port.items())
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
