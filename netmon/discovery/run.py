"""`netmon discover`, end to end: sweep, identify, read neighbours, derive the tree, reconcile.

Discovery reads; it never writes the inventory. Bounded: the sweep by its rate and size, each
SNMP read by its profile's timeout and the walk bounds, and at most `CONCURRENCY` hosts at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netmon.config import Config, SnmpProfile
from netmon.discovery.adjacency import Edge, Found, adjacency, gateway_to, root_of, uplinks
from netmon.discovery.identify import capabilities, guess
from netmon.discovery.neighbours import read_view
from netmon.discovery.reconcile import Report, reconcile
from netmon.discovery.snmpread import Reader, context_engines, identify
from netmon.discovery.sweep import IpNetwork, check_allowed, sweep
from netmon.errors import InputError
from netmon.inventory.spec import Inventory

__all__ = [
    "CONCURRENCY",
    "STATION_LOOPBACK",
    "Discovery",
    "discover",
    "identify_hosts",
    "is_local",
    "merge_aliases",
    "profiles_for",
]

#: Hosts identified at once.
CONCURRENCY = 32


@dataclass(frozen=True, kw_only=True)
class Discovery:
    """What one discovery found, the tree it derived, and the reconciliation."""

    answered: tuple[str, ...]
    found: dict[str, Found]
    edges: tuple[Edge, ...]
    root: str | None
    root_reason: str
    report: Report


def profiles_for(config: Config, names: Sequence[str] | None) -> list[tuple[str, SnmpProfile]]:
    """Return the (name, profile) pairs to try, in order: *names*, else `discovery.profiles`, else all.

    Raises:
        InputError: a named profile is not in the config.
    """
    chosen = list(names) if names else list(config.discovery.profiles) or list(config.snmp_profiles)
    unknown = [n for n in chosen if n not in config.snmp_profiles]
    if unknown:
        known = ", ".join(config.snmp_profiles) or "none"
        raise InputError(f"--profiles: no SNMP profile {', '.join(unknown)} in the config (it has {known})")
    return [(n, config.snmp_profiles[n]) for n in chosen]


async def identify_hosts(config: Config, addresses: Sequence[str], profiles: Sequence[str] | None) -> dict[str, Found]:
    """Identify every address over SNMP (first profile that answers) and read its neighbours."""
    pairs = profiles_for(config, profiles)
    gate = asyncio.Semaphore(CONCURRENCY)
    found: dict[str, Found] = {}
    contexts = context_engines(profile for _, profile in pairs)

    async def one(address: str) -> None:
        async with gate:
            identity = await identify(address, pairs, contexts=contexts)
            if identity is None:
                found[address] = Found(address=address)
                return
            view = await read_view(Reader(address, config.snmp_profiles[identity.profile], contexts=contexts))
            role = guess(
                sys_object_id=identity.sys_object_id,
                sys_descr=identity.sys_descr,
                lldp_capabilities=capabilities(identity.lldp_capabilities),
                host_resources=identity.host_resources,
                sys_services=identity.sys_services,
            )
            found[address] = Found(address=address, identity=identity, guess=role, view=view)

    try:
        async with asyncio.TaskGroup() as group:
            for address in addresses:
                group.create_task(one(address))
    finally:
        if contexts is not None:
            await contexts.aclose()
    return found


#: The loopback addresses that are this station itself. The rest of 127.0.0.0/8 binds too (the
#: loopback route covers it), but there it is the loopback lab's agents (`netmon lab up`) that answer.
STATION_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def is_local(address: str) -> bool:
    """Tell whether *address* is this machine's own: a UDP socket can bind to it, and it is not a lab loopback address.

    Every 127.0.0.0/8 address binds on Linux; only `STATION_LOOPBACK` counts as the station there,
    else discovery on the loopback lab found nothing (found by a newcomer run).
    """
    if ipaddress.ip_address(address).is_loopback:
        return address in STATION_LOOPBACK
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def merge_aliases(found: dict[str, Found]) -> dict[str, Found]:
    """Keep one entry per device: a router answers on each of its addresses (ipAdEntAddr tells which are its).

    The address kept is the one neighbours advertise as the device's management address (LLDP),
    else the lowest.
    """
    advertised = {
        address
        for host in found.values()
        if host.view is not None
        for neighbour in host.view.neighbours
        for address in neighbour.remote_addresses
    }
    kept: dict[str, Found] = {}
    taken: set[str] = set()
    ordered = sorted(found.values(), key=lambda h: (h.address not in advertised, ipaddress.ip_address(h.address)))
    for host in ordered:
        if host.address in taken:
            continue
        owned = host.view.addresses if host.view is not None else frozenset({host.address})
        kept[host.address] = host
        taken |= owned & found.keys()
    return kept


async def discover(
    config: Config,
    inventory: Inventory,
    networks: Sequence[IpNetwork],
    *,
    profiles: Sequence[str] | None = None,
    rate: float | None = None,
    root: str | None = None,
    unit: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Discovery:
    """Run a whole discovery of *networks* (checked against `discovery.allowed` first)."""
    check_allowed(networks, config.discovery.allowed)
    profiles_for(config, profiles)  # a bad --profiles fails before the sweep
    answered = await sweep(
        networks, rate=rate or config.discovery.rate, wait=config.discovery.timeout, progress=progress
    )
    answered = [address for address in answered if not is_local(address)]  # this station is not discovered
    found = merge_aliases(await identify_hosts(config, answered, profiles))
    edges = adjacency(found)
    gateway = await asyncio.to_thread(gateway_to, str(networks[0].network_address)) if networks else None
    start, why = root_of(found, gateway=gateway, named=root or config.discovery.root)
    up = uplinks(found, edges, start) if start is not None else {}
    report = reconcile(inventory, found, up, swept=networks, unit=unit or config.discovery.unit)
    report.notes.insert(0, f"tree root: {start or 'none'} ({why})")
    return Discovery(
        answered=tuple(answered), found=found, edges=tuple(edges), root=start, root_reason=why, report=report
    )
