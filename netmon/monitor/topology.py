"""What depends on what, derived from the inventory: devices, their uplinks, links and interfaces.

- A device's *path link* is the link netmon reaches it through: among the links terminated on
  the device, the first kind in `uplink_kinds` (default wan, man, tslcd, internet). The path
  link depends on the device's parent (its near end) and the device depends on the path link,
  so a cut uplink is one DOWN outage (the link) with the device and everything behind it
  UNREACHABLE. A device without a path link depends on its parent device.
- Every other link on a device depends on that device.
- An interface ("interface", "DEVICE:IDENTITY") depends on its device; it is added when first seen.
  Its identity is its ifName where unique on the device, else ``ifName#ifIndex`` (issue 13).
- A service ("service", NAME; enabled ones only) depends on the device it runs on, if any: the
  device down makes its services UNREACHABLE, so one server cut is one outage (issue 11, item 5).

Link observations: a link is down when its interface is oper-down while admin-up, or when its
far end stops answering ping. Seen from the monitoring station, a unit's link ends at the device
it is terminated on, so the far end is that device; an interface that SNMP does not report (or
an agent that does not answer) leaves the ping as the only evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netmon.inventory.models import LinkKind
from netmon.inventory.spec import Inventory
from netmon.kernel import storable
from netmon.monitor.state import ObjectKey

__all__ = ["DEFAULT_UPLINK_KINDS", "KEY_LIMIT", "Topology", "interface_key"]

#: Longest object name the history and outage tables hold (`object_name`, varchar 255).
KEY_LIMIT = 255

DEFAULT_UPLINK_KINDS: tuple[LinkKind, ...] = (LinkKind.WAN, LinkKind.MAN, LinkKind.TSLCD, LinkKind.INTERNET)


def interface_key(device: str, interface: str) -> ObjectKey:
    """Return the state-engine key of a device's interface, ``DEVICE:IDENTITY``, made storable.

    *interface* is its identity (`netmon.pollers.ifmib.interface_ids`). The name comes from the
    agent: it may hold NUL bytes or be long enough that with the device's name it overflows the
    255-character object name of the history and outage tables (`netmon.kernel.storable`).
    """
    return ("interface", storable(f"{device}:{interface}", KEY_LIMIT))


@dataclass(frozen=True)
class Topology:
    """Dependencies and observation sources of every monitored object."""

    depends_on: Mapping[ObjectKey, tuple[ObjectKey, ...]]
    path_link: Mapping[str, str]  # device -> the link it is reached through
    links_on: Mapping[str, tuple[str, ...]]  # device -> links terminated on it
    link_interface: Mapping[str, tuple[str, str]]  # link -> (device, ifName)
    unit_of: Mapping[ObjectKey, str] = field(default_factory=dict)

    @classmethod
    def build(cls, inventory: Inventory, uplink_kinds: Sequence[LinkKind] = DEFAULT_UPLINK_KINDS) -> Topology:
        """Derive the dependencies from *inventory* (enabled devices only)."""
        devices = {name: d for name, d in inventory.devices.items() if d.enabled}
        links_on: dict[str, list[str]] = {}
        link_interface: dict[str, tuple[str, str]] = {}
        for name, link in inventory.links.items():
            if link.device is not None and link.device in devices:
                links_on.setdefault(link.device, []).append(name)
                if link.interface:
                    link_interface[name] = (link.device, link.interface)
        rank = {kind: index for index, kind in enumerate(uplink_kinds)}
        path_link: dict[str, str] = {}
        for terminating, names in links_on.items():
            candidates = [n for n in names if inventory.links[n].kind in rank]
            if candidates:
                path_link[terminating] = min(candidates, key=lambda n: (rank[inventory.links[n].kind], n))
        depends_on: dict[ObjectKey, tuple[ObjectKey, ...]] = {}
        unit_of: dict[ObjectKey, str] = {}
        for name, device in devices.items():
            parent = (("device", device.parent),) if device.parent in devices else ()
            path = path_link.get(name)
            if path is not None:
                depends_on[("link", path)] = parent
                depends_on[("device", name)] = (("link", path),)
            else:
                depends_on[("device", name)] = parent
            for other in links_on.get(name, ()):
                if other != path:
                    depends_on[("link", other)] = (("device", name),)
            unit_of[("device", name)] = device.unit
        for name, link in inventory.links.items():
            depends_on.setdefault(("link", name), ())
            unit_of[("link", name)] = link.unit
        _add_services(inventory, devices, depends_on, unit_of)
        return cls(
            depends_on=depends_on,
            path_link=path_link,
            links_on={name: tuple(names) for name, names in links_on.items()},
            link_interface=link_interface,
            unit_of=unit_of,
        )


def _add_services(
    inventory: Inventory,
    devices: Mapping[str, object],
    depends_on: dict[ObjectKey, tuple[ObjectKey, ...]],
    unit_of: dict[ObjectKey, str],
) -> None:
    """Add the enabled services: each depends on the enabled device it runs on, if any."""
    for name, service in inventory.services.items():
        if service.enabled:
            on = service.device
            depends_on[("service", name)] = (("device", on),) if on is not None and on in devices else ()
            unit_of[("service", name)] = service.unit
