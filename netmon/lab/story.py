"""The demo's outage story: which commune to cut, and its inventory moved behind a fault-lab site.

The commune is picked from the inventory's data, never by name, so that the story works on any
province (the three-tier example before 2025-07-01 and the two-tier one after):

- a unit with no unit below it (a commune, ward or the like);
- with a router whose *path link* (`netmon.monitor.topology`: the first wan/man/tslcd/internet
  link terminated on it) belongs to the unit, and whose parent device is outside the unit;
- with at least one more device of the unit behind that router;
- the first such unit by code.

`move_behind_site` then gives the commune's devices the site's addresses (198.18.N.0/24,
`netmon.lab.faults`), points the uplink at the site's veth interface (so that the site's own
snmpd reports it) and drops SNMP from the devices the site's agent does not serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netmon.inventory.kinds import Role
from netmon.inventory.spec import Inventory
from netmon.monitor.topology import Topology

__all__ = ["Cut", "move_behind_site", "pick_cut"]


@dataclass(frozen=True, kw_only=True)
class Cut:
    """What the demo cuts: the unit, its router, the router's uplink and the devices behind it."""

    unit: str
    unit_name: str
    router: str
    uplink: str
    behind: tuple[str, ...]  # the unit's other devices, parents first

    @property
    def devices(self) -> tuple[str, ...]:
        """Return the router and the devices behind it."""
        return (self.router, *self.behind)


def pick_cut(inventory: Inventory) -> Cut | None:
    """Return the first commune-like unit (by code) whose uplink can be cut, or None when there is none."""
    topology = Topology.build(inventory)
    parents = {u.parent for u in inventory.units.values() if u.parent is not None}
    for code in sorted(inventory.units):
        if code in parents:
            continue
        devices = [d for d in inventory.devices.values() if d.unit == code and d.enabled]
        for router in sorted((d for d in devices if d.role is Role.ROUTER), key=lambda d: d.name):
            uplink = topology.path_link.get(router.name)
            outside = router.parent is not None and router.parent in inventory.devices
            if uplink is None or inventory.links[uplink].unit != code or not outside:
                continue
            if inventory.devices[router.parent or ""].unit == code:
                continue
            behind = _behind(router.name, [d.name for d in devices], inventory)
            if behind:
                return Cut(
                    unit=code,
                    unit_name=inventory.units[code].name,
                    router=router.name,
                    uplink=uplink,
                    behind=tuple(behind),
                )
    return None


def _behind(router: str, names: Sequence[str], inventory: Inventory) -> list[str]:
    """Return the devices among *names* whose parent chain reaches *router*, parents first."""
    found: list[str] = []
    frontier = [router]
    while frontier:
        current = frontier.pop(0)
        children = sorted(n for n in names if inventory.devices[n].parent == current and n not in found)
        found.extend(children)
        frontier.extend(children)
    return found


def move_behind_site(
    inventory: Inventory, cut: Cut, *, address: str, hosts: Sequence[str], interface: str
) -> Inventory:
    """Return *inventory* with the cut's devices on the site's *address* (router) and *hosts* (the rest).

    The uplink is terminated on the site's veth *interface*; the devices behind the router lose
    their SNMP profile (the site's agent answers on the router's address only).

    Raises:
        ValueError: fewer *hosts* than devices behind the router.

    """
    if len(hosts) < len(cut.behind):
        raise ValueError(f"the site has {len(hosts)} host addresses for {len(cut.behind)} devices")
    devices = dict(inventory.devices)
    devices[cut.router] = devices[cut.router].model_copy(update={"address": address})
    for name, host in zip(cut.behind, hosts, strict=False):
        devices[name] = devices[name].model_copy(update={"address": host, "snmp": None})
    links = dict(inventory.links)
    links[cut.uplink] = links[cut.uplink].model_copy(update={"interface": interface})
    return Inventory(units=inventory.units, devices=devices, links=links)
