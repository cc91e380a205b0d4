"""From neighbour tables to a tree: who is adjacent to whom, and which neighbour is the parent.

Remote devices are matched to discovered hosts by management address, then by chassis id, then
by sysName (without a domain). The parent of a device is its neighbour on the path toward the
monitoring station: a breadth-first walk from the root (the discovered device that owns the
station's gateway toward the swept networks, or the one the user names), ties broken by name.
"""

from __future__ import annotations

import json
import subprocess
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from netmon.discovery.identify import Guess
from netmon.discovery.neighbours import DeviceView, Neighbour
from netmon.discovery.snmpread import Identity

__all__ = ["Edge", "Found", "Uplink", "adjacency", "far_port", "gateway_to", "match_remote", "root_of", "uplinks"]

_LOCAL = 7  # LldpPortIdSubtype local


@dataclass(frozen=True, kw_only=True)
class Found:
    """One host that answered the sweep, with what SNMP told about it (None where it did not answer)."""

    address: str
    identity: Identity | None = None
    guess: Guess | None = None
    view: DeviceView | None = None
    known_as: str | None = None  # the inventory's name, where the host is a declared device

    @property
    def name(self) -> str | None:
        """Return the host's sysName without a domain, else its inventory name."""
        name = self.identity.sys_name if self.identity is not None else None
        return name.split(".")[0] if name else self.known_as


@dataclass(frozen=True, kw_only=True)
class Edge:
    """Two discovered hosts seen as neighbours, with each side's port where known."""

    a: str
    a_port: str | None
    b: str
    b_port: str | None
    protocol: str


@dataclass(frozen=True, kw_only=True)
class Uplink:
    """A device's way toward the station: its parent and the ports on both sides."""

    parent: str
    port: str | None  # the device's own port toward the parent
    parent_port: str | None
    speed_mbps: int | None


def match_remote(neighbour: Neighbour, found: Mapping[str, Found]) -> tuple[str | None, str]:
    """Return the address of the discovered host *neighbour* is, and how it matched (or None, why not)."""
    for address in neighbour.remote_addresses:
        for host in found.values():
            if address == host.address or (host.view is not None and address in host.view.addresses):
                return host.address, f"management address {address}"
    owned = neighbour.remote_chassis_address  # LldpChassisIdSubtype networkAddress: an address the chassis owns
    for host in found.values() if owned else ():
        if owned == host.address or (host.view is not None and owned in host.view.addresses):
            return host.address, f"chassis id {owned} (a network address)"
    if neighbour.remote_chassis:
        for host in found.values():
            chassis = host.identity.lldp_chassis_id if host.identity is not None else None
            if chassis and ":".join(f"{b:02x}" for b in chassis) == neighbour.remote_chassis.lower():
                return host.address, f"chassis id {neighbour.remote_chassis}"
    if neighbour.remote_name:
        named = [h.address for h in found.values() if _same_name(neighbour.remote_name, h)]
        if len(named) == 1:
            return named[0], f"sysName {neighbour.remote_name}"
    return None, "no discovered host has its address, chassis id or name"


def _same_name(remote: str, host: Found) -> bool:
    """Tell whether a neighbour's sysName (or CDP device id) names *host*.

    DNS names compare without regard to case (RFC 4343). Where both the neighbour's name and the
    host's sysName carry a domain, the whole names must be equal: sw-dist.hanoi.example.vn is not
    sw-dist.hcm.example.vn. Where either is a bare name, the first labels are compared.
    """
    wanted = remote.lower().rstrip(".")
    full = (host.identity.sys_name or "").lower().rstrip(".") if host.identity is not None else ""
    if "." in wanted and "." in full:
        return wanted == full
    return bool(host.name) and (host.name or "").lower() == wanted.split(".")[0]


def adjacency(found: Mapping[str, Found]) -> list[Edge]:
    """Return one edge per pair of adjacent discovered hosts, ports taken from each side's own table.

    The first side (in address order) that lists the other gives its own port and, for now, the
    far port as its neighbour entry names it. The far side's own entry then names its own port,
    but only an entry of the same link: where two links join the pair (LAG members, a second
    uplink), the far entry whose remote port is the near side's port, else the only far entry.
    An edge only one side lists, where the other side lists neighbours, is stale and left out.
    """
    entries: dict[tuple[str, str], list[tuple[str, Neighbour]]] = {}
    seen_by: dict[str, set[str]] = {}  # host -> the hosts its own table lists
    for host in sorted(found.values(), key=lambda h: h.address):
        if host.view is None:
            continue
        for neighbour in host.view.neighbours:
            other, _how = match_remote(neighbour, found)
            if other is None or other == host.address:
                continue
            seen_by.setdefault(host.address, set()).add(other)
            entries.setdefault((min(host.address, other), max(host.address, other)), []).append(
                (host.address, neighbour)
            )
    edges = [_edge(key, listed, found) for key, listed in entries.items()]
    return [edge for edge in edges if _confirmed(edge, found, seen_by)]


def _edge(key: tuple[str, str], listed: list[tuple[str, Neighbour]], found: Mapping[str, Found]) -> Edge:
    """Build the edge of one pair from every entry either side lists about the other."""
    near, first = listed[0]
    far = key[1] if near == key[0] else key[0]
    near_view = found[near].view
    far_entries = [n for lister, n in listed if lister == far]
    same_link = [n for n in far_entries if far_port(n, near_view) == first.local_port]
    # the only far entry is this link's unless it names another known port of the near side:
    # then it is a second link, whose own near entry is stale (LLDP keeps it until its TTL)
    lone = far_entries[0] if len(far_entries) == 1 else None
    if lone is not None and near_view is not None and far_port(lone, near_view) in near_view.ports:
        lone = None
    chosen = same_link[0] if same_link else lone
    port = chosen.local_port if chosen is not None else far_port(first, found[far].view)
    return Edge(a=near, a_port=first.local_port, b=far, b_port=port, protocol=first.protocol)


def far_port(neighbour: Neighbour, view: DeviceView | None) -> str | None:
    """Return the neighbour's port as the far device names it (its ifName), where its view tells; else as read.

    The near side reads another spelling of the same port: CISCO-CDP-MIB cdpCacheDevicePort is
    "typically the value of the ifName object", but Cisco sends the full name (the far side's
    ifDescr, "GigabitEthernet0/1" for Gi0/1); LldpPortIdSubtype local(7) is "an alpha-numeric
    string locally assigned" (IEEE 802.1AB-2005 9.5.3.2), which Junos fills with the port's ifIndex.
    """
    port = neighbour.remote_port
    if port is None or view is None or port in view.ports:
        return port
    if port in view.if_descrs:
        return view.if_descrs[port]
    if neighbour.remote_port_subtype == _LOCAL and port.isdigit() and int(port) in view.if_names:
        return view.if_names[int(port)]
    return port


def _confirmed(edge: Edge, found: Mapping[str, Found], seen_by: Mapping[str, set[str]]) -> bool:
    """Keep an edge unless the far side reads LLDP/CDP, lists other neighbours, and not this one.

    A neighbour entry outlives its link by up to its TTL (120 s by default): after an uplink
    moves, the device still lists its old parent while the old parent no longer lists it.
    """
    for here, there in ((edge.a, edge.b), (edge.b, edge.a)):
        view = found[there].view if there in found else None
        if view is not None and view.neighbours and here not in seen_by.get(there, set()):
            return False
    return True


def gateway_to(address: str) -> str | None:
    """Return the next hop this machine uses toward *address* (`ip route get`), None when on-link or unknown."""
    try:
        done = subprocess.run(  # noqa: S603
            ["ip", "-j", "route", "get", address],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        routes = json.loads(done.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    gateway = routes[0].get("gateway") if routes and isinstance(routes[0], dict) else None
    return str(gateway) if gateway else None


def root_of(found: Mapping[str, Found], *, gateway: str | None, named: str | None = None) -> tuple[str | None, str]:
    """Return the host the tree starts from, and why: the named one, else the owner of the station's gateway."""
    if named is not None:
        for host in found.values():
            if named in (host.address, host.name):
                return host.address, f"named with --root {named}"
        return None, f"--root {named} is not among the discovered hosts"
    if gateway is not None:
        for host in found.values():
            if gateway == host.address or (host.view is not None and gateway in host.view.addresses):
                return host.address, f"owns {gateway}, this station's next hop toward the swept networks"
        return None, f"no discovered host owns {gateway}, this station's next hop: name one with --root"
    return None, "the swept networks are on-link here: name the first device with --root"


def uplinks(found: Mapping[str, Found], edges: list[Edge], root: str) -> dict[str, Uplink]:
    """Walk from *root* outward; return each reached device's uplink (the root has none)."""
    near: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for edge in edges:
        near.setdefault(edge.a, []).append((edge.b, edge.a_port, edge.b_port))
        near.setdefault(edge.b, []).append((edge.a, edge.b_port, edge.a_port))
    result: dict[str, Uplink] = {}
    reached = {root}
    queue = deque([root])
    while queue:
        current = queue.popleft()
        for other, my_port, other_port in sorted(near.get(current, []), key=lambda n: (n[0], n[1] or "")):
            if other in reached:
                continue
            reached.add(other)
            queue.append(other)
            view = found[other].view if other in found else None
            speed = view.ports.get(other_port) if view is not None and other_port else None
            result[other] = Uplink(parent=current, port=other_port, parent_port=my_port, speed_mbps=speed)
    return result
