"""Reconciliation: what discovery saw against the declared inventory, and a proposal to import.

Nothing here writes. The report lists new devices, declared devices not found, declared parents
that differ from the observed path, declared link interfaces that differ from the port where the
neighbour is seen, and addresses that changed. The proposal is an inventory file (devices and
links only; units stay as declared) for `netmon inventory import proposed.yaml --dry-run`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from netmon.discovery.adjacency import Found, Uplink
from netmon.discovery.sweep import IpNetwork
from netmon.inventory.models import LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory

__all__ = ["Finding", "Report", "reconcile"]

_NAME_OK = re.compile(r"[^A-Za-z0-9_.:-]+")


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One difference between the network and the inventory."""

    kind: str  # new_device | not_found | parent_differs | interface_differs | address_changed
    device: str
    declared: str | None = None
    observed: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.kind}: {self.device}"
        if self.declared is not None or self.observed is not None:
            text += f" (declared {self.declared or '-'}, observed {self.observed or '-'})"
        return text + (f": {self.detail}" if self.detail else "")


@dataclass(kw_only=True)
class Report:
    """The reconciliation and the proposed inventory rows."""

    findings: list[Finding] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    guesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def proposal(self) -> dict[str, Any]:
        """Return the proposal as inventory-file data (devices and links)."""
        return {"devices": self.devices, "links": self.links}

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "findings": [asdict(f) for f in self.findings],
            "proposal": self.proposal(),
            "guesses": self.guesses,
            "notes": self.notes,
        }


def _key(text: str) -> str:
    cleaned = _NAME_OK.sub("-", text).strip("-._:")[:64]
    return cleaned or "host"


def _names(found: Mapping[str, Found], inventory: Inventory) -> dict[str, str]:
    """Name each discovered address: the declared device's name, else sysName, else host-<address>."""
    by_address = {d.address: name for name, d in inventory.devices.items()}
    by_name = {name.lower(): name for name in inventory.devices}
    names: dict[str, str] = {}
    taken = set(inventory.devices)
    for address, host in sorted(found.items(), key=lambda item: ipaddress.ip_address(item[0])):
        if address in by_address:
            names[address] = by_address[address]
            continue
        if host.name and host.name.lower() in by_name:
            names[address] = by_name[host.name.lower()]  # same name, new address: address_changed
            continue
        name = _key(host.name) if host.name else "host-" + _key(address.replace(".", "-").replace(":", "-"))
        while name in taken:
            name = f"{name}-{address.replace('.', '-').replace(':', '-')}"[:64]
        taken.add(name)
        names[address] = name
    return names


def reconcile(
    inventory: Inventory,
    found: Mapping[str, Found],
    up: Mapping[str, Uplink],
    *,
    swept: Sequence[IpNetwork],
    unit: str | None,
) -> Report:
    """Compare the discovered hosts and their uplinks with *inventory*; build the report and proposal."""
    report = Report()
    names = _names(found, inventory)
    for name, device in sorted(inventory.devices.items()):
        ip = ipaddress.ip_address(device.address)
        seen = device.address in found or any(names.get(a) == name for a in found)
        if device.enabled and any(ip in n for n in swept) and not seen:
            report.findings.append(Finding(kind="not_found", device=name, declared=device.address))
    for address, host in sorted(found.items(), key=lambda item: ipaddress.ip_address(item[0])):
        name = names[address]
        declared = inventory.devices.get(name)
        uplink = up.get(address)
        parent = names.get(uplink.parent) if uplink is not None else None
        if host.guess is not None:
            report.guesses[name] = {
                "address": address,
                "role": host.guess.role.value,
                "vendor": host.guess.vendor,
                "model": host.guess.model,
                "reasons": list(host.guess.reasons),
                "profile": host.identity.profile if host.identity is not None else None,
            }
        row = _device_row(
            name,
            address,
            host,
            declared=declared,
            parent=parent,
            names=names,
            up=up,
            inventory=inventory,
            unit=unit,
            report=report,
        )
        if row is not None:
            report.devices.append(row)
        if declared is None:
            report.findings.append(Finding(kind="new_device", device=name, observed=address, detail=_what(host)))
            continue
        if declared.address != address:
            report.findings.append(
                Finding(kind="address_changed", device=name, declared=declared.address, observed=address)
            )
        if uplink is not None and declared.parent != parent:
            report.findings.append(
                Finding(kind="parent_differs", device=name, declared=declared.parent, observed=parent)
            )
        _check_links(report, inventory, name, uplink)
    _propose_links(report, inventory, up, names)
    return report


def _what(host: Found) -> str:
    if host.guess is None:
        return "answers ping only (no SNMP profile answered)"
    return f"{host.guess.role.value}" + (f", {host.guess.vendor}" if host.guess.vendor else "")


def _device_row(
    name: str,
    address: str,
    host: Found,
    *,
    declared: DeviceSpec | None,
    parent: str | None,
    names: Mapping[str, str],
    up: Mapping[str, Uplink],
    inventory: Inventory,
    unit: str | None,
    report: Report,
) -> dict[str, Any] | None:
    if declared is not None:
        kept = declared.to_row()
        kept["address"] = address
        if parent is not None:
            kept["parent"] = parent
        return kept
    chosen = _unit_above(address, names, up, inventory) or unit
    if chosen is None:
        report.notes.append(f"{name} ({address}) is left out of the proposal: no unit (give --unit CODE)")
        return None
    row: dict[str, Any] = {
        "name": name,
        "unit": chosen,
        "role": (host.guess.role if host.guess is not None else Role.OTHER).value,
        "address": address,
    }
    if host.identity is not None:
        row["snmp"] = host.identity.profile
    if parent is not None:
        row["parent"] = parent
    row["tags"] = ["discovered"]
    return row


def _unit_above(address: str, names: Mapping[str, str], up: Mapping[str, Uplink], inventory: Inventory) -> str | None:
    """Return the unit of the nearest declared device on the way toward the station."""
    current = address
    for _ in range(len(up) + 1):  # bounded by the tree's size
        uplink = up.get(current)
        if uplink is None:
            return None
        declared = inventory.devices.get(names.get(uplink.parent, ""))
        if declared is not None:
            return declared.unit
        current = uplink.parent
    return None


def _check_links(report: Report, inventory: Inventory, name: str, uplink: Uplink | None) -> None:
    if uplink is None or uplink.port is None:
        return
    for link_name, link in sorted(inventory.links.items()):
        if link.device == name and link.interface and link.kind is not LinkKind.LAN and link.interface != uplink.port:
            report.findings.append(
                Finding(
                    kind="interface_differs",
                    device=name,
                    declared=link.interface,
                    observed=uplink.port,
                    detail=f"link {link_name}: the parent is seen on {uplink.port}",
                )
            )


def _propose_links(report: Report, inventory: Inventory, up: Mapping[str, Uplink], names: Mapping[str, str]) -> None:
    """Propose a link for each uplink that no declared link of that device covers."""
    units = {row["name"]: row["unit"] for row in report.devices}
    for address, uplink in sorted(up.items()):
        name = names[address]
        if any(link.device == name for link in inventory.links.values()) or name not in units:
            continue
        parent_unit = units.get(names.get(uplink.parent, ""))
        kind = LinkKind.LAN if parent_unit == units[name] else LinkKind.WAN
        row: dict[str, Any] = {
            "name": _key(f"{name}-uplink"),
            "kind": kind.value,
            "unit": units[name],
            "device": name,
        }
        if uplink.port:
            row["interface"] = uplink.port
        if uplink.speed_mbps:
            row["capacity_mbps"] = uplink.speed_mbps
        report.links.append(row)
