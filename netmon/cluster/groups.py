"""Poller groups and ownership: which group an object is in, and which live poller of it owns it.

An object (device, link, service) is in the poller group it names (`poller_group`), else its
unit's, else the nearest ancestor unit's, else `default` (config.DEFAULT_GROUP). Ownership is
decided per *shard*, (group, unit code): every object of one unit in one group goes to the same
poller, so a unit's devices keep their dependencies (parent device, path link) in one state
engine. A link goes with its device's shard (it is judged from that device's samples).

The owner of a shard is the live member of its group with the highest rendezvous weight
(highest random weight hashing, Thaler and Ravishankar 1998): when a member joins or leaves, only
the shards it gains or loses move, and every poller that reads the same members computes the same
owner without talking to the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netmon.cluster.settings import DEFAULT_GROUP
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, ServiceSpec, UnitSpec

__all__ = ["Member", "Shard", "group_of_unit", "owned_inventory", "owner", "shard_of", "shards"]

#: (group, unit code): the unit of ownership.
Shard = tuple[str, str]


@dataclass(frozen=True, kw_only=True)
class Member:
    """A live poller as the membership table has it: its name, groups and fencing epoch."""

    name: str
    groups: frozenset[str]
    epoch: int


def group_of_unit(units: Mapping[str, UnitSpec], code: str) -> str:
    """Return the poller group of unit *code*: its own, else its nearest ancestor's, else `default`."""
    seen: set[str] = set()
    unit = units.get(code)
    while unit is not None and unit.code not in seen:
        if unit.poller_group is not None:
            return unit.poller_group
        seen.add(unit.code)
        unit = units.get(unit.parent) if unit.parent is not None else None
    return DEFAULT_GROUP


def shard_of(inventory: Inventory, spec: DeviceSpec | LinkSpec | ServiceSpec) -> Shard:
    """Return the shard (group, unit code) of a device, link or service."""
    if isinstance(spec, LinkSpec) and spec.device is not None and spec.device in inventory.devices:
        return shard_of(inventory, inventory.devices[spec.device])
    group = spec.poller_group or group_of_unit(inventory.units, spec.unit)
    return (group, spec.unit)


def shards(inventory: Inventory) -> dict[tuple[str, str], Shard]:
    """Return the shard of every device, link and service, by (kind, name)."""
    found: dict[tuple[str, str], Shard] = {}
    for kind, items in (("device", inventory.devices), ("link", inventory.links), ("service", inventory.services)):
        for name, spec in items.items():
            found[(kind, name)] = shard_of(inventory, spec)
    return found


def _weight(shard: Shard, member: str) -> bytes:
    return hashlib.blake2b(f"{shard[0]}\x00{shard[1]}\x00{member}".encode(), digest_size=8).digest()


def owner(shard: Shard, members: Iterable[Member]) -> str | None:
    """Return the name of the live member of the shard's group that owns it; None when the group has none."""
    candidates = [m.name for m in members if shard[0] in m.groups]
    if not candidates:
        return None
    return max(candidates, key=lambda name: (_weight(shard, name), name))


def owned_inventory(inventory: Inventory, me: str, members: Iterable[Member]) -> Inventory:
    """Return the part of *inventory* that *me* owns among *members*: every unit, and its own objects.

    Units are all kept (devices name them; unit metrics are per unit, not per object). A device
    whose parent another poller owns keeps the name: the topology ignores a parent it lacks.
    """
    members = list(members)
    cache: dict[Shard, str | None] = {}

    def mine(spec: DeviceSpec | LinkSpec | ServiceSpec) -> bool:
        shard = shard_of(inventory, spec)
        if shard not in cache:
            cache[shard] = owner(shard, members)
        return cache[shard] == me

    return Inventory(
        units=inventory.units,
        devices={name: d for name, d in inventory.devices.items() if mine(d)},
        links={name: link for name, link in inventory.links.items() if mine(link)},
        services={name: s for name, s in inventory.services.items() if mine(s)},
    )
