"""Role, vendor and model guesses from what a device says about itself, each with its reason.

Inputs are SNMPv2-MIB's sysObjectID, sysDescr and sysServices (RFC 3418), LLDP-MIB's
lldpLocSysCapEnabled (IEEE 802.1AB, the capability names of `LLDP_CAPABILITIES`) and whether
HOST-RESOURCES-MIB (RFC 2790) answers. The vendor comes from sysObjectID's IANA enterprise
number; role and model come from the rules of `vendors.yaml`, read in order (first match
wins), then from LLDP capabilities, HOST-RESOURCES presence, bare keywords ("router") and
sysServices layers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from netmon.inventory.models import Role

__all__ = ["LLDP_CAPABILITIES", "Guess", "capabilities", "enterprise_of", "guess"]

#: LLDP-MIB LldpSystemCapabilitiesMap bit names, bit 0 first (IEEE 802.1AB-2005 clause 9.5.8).
LLDP_CAPABILITIES = (
    "other",
    "repeater",
    "bridge",
    "wlanAccessPoint",
    "router",
    "telephone",
    "docsisCableDevice",
    "stationOnly",
)
_ENTERPRISES = "1.3.6.1.4.1."


@dataclass(frozen=True, kw_only=True)
class Guess:
    """A proposed role, vendor and model, with the reasons that led to them (for the report)."""

    role: Role
    vendor: str | None = None
    model: str | None = None
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Rule:
    role: Role
    why: str
    descr: re.Pattern[str] | None
    oid: str | None
    model: re.Pattern[str] | None
    weak: bool = False

    def matches(self, oid: str, descr: str) -> bool:
        return (self.descr is not None and self.descr.search(descr) is not None) or (
            self.oid is not None and _under(oid, self.oid)
        )

    def guess(self, descr: str, vendor: str | None, reasons: list[str]) -> Guess:
        found = self.model.search(descr) if self.model is not None else None
        model = (found.group(1) or "").strip() if found is not None and found.groups() else None
        return Guess(role=self.role, vendor=vendor, model=model or None, reasons=(*reasons, f"role: {self.why}"))


@functools.cache
def _table() -> tuple[dict[int, str], tuple[_Rule, ...]]:
    text = resources.files("netmon.discovery").joinpath("vendors.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    rules = tuple(
        _Rule(
            role=Role(rule["role"]),
            why=str(rule["why"]),
            descr=re.compile(rule["descr"], re.IGNORECASE | re.DOTALL) if "descr" in rule else None,
            oid=str(rule["oid"]) if "oid" in rule else None,
            model=re.compile(rule["model"], re.IGNORECASE) if "model" in rule else None,
            weak=bool(rule.get("weak", False)),
        )
        for rule in data["rules"]
    )
    return {int(k): str(v) for k, v in data["enterprises"].items()}, rules


def enterprise_of(sys_object_id: str | None) -> int | None:
    """Return the IANA enterprise number of a sysObjectID under 1.3.6.1.4.1, else None."""
    oid = (sys_object_id or "").lstrip(".")
    if not oid.startswith(_ENTERPRISES):
        return None
    head = oid[len(_ENTERPRISES) :].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def capabilities(bits: bytes | None) -> frozenset[str]:
    """Decode an LLDP capability BITS value (first octet's high bit is bit 0) into names."""
    if not bits:
        return frozenset()
    names = set()
    for index, name in enumerate(LLDP_CAPABILITIES):
        octet, bit = divmod(index, 8)
        if octet < len(bits) and bits[octet] & (0x80 >> bit):
            names.add(name)
    return frozenset(names)


def _under(oid: str, prefix: str) -> bool:
    return oid == prefix or oid.startswith(prefix + ".")


def guess(
    *,
    sys_object_id: str | None,
    sys_descr: str | None,
    lldp_capabilities: frozenset[str] = frozenset(),
    host_resources: bool = False,
    sys_services: int | None = None,
) -> Guess:
    """Guess a device's role, vendor and model; `Role.OTHER` with a reason when nothing tells."""
    enterprises, rules = _table()
    oid = (sys_object_id or "").lstrip(".")
    descr = sys_descr or ""
    number = enterprise_of(oid)
    vendor = enterprises.get(number) if number is not None else None
    reasons = [f"vendor: enterprise {number} in sysObjectID is {vendor}"] if vendor else []
    if number is not None and vendor is None:
        reasons.append(f"vendor: enterprise {number} is not in netmon's table")
    for rule in rules:
        if not rule.weak and rule.matches(oid, descr):
            return rule.guess(descr, vendor, reasons)
    by_lldp = _from_lldp(lldp_capabilities)
    if by_lldp is not None:
        enabled = ", ".join(sorted(lldp_capabilities))
        return Guess(role=by_lldp, vendor=vendor, reasons=(*reasons, f"role: LLDP capabilities enabled: {enabled}"))
    if host_resources:
        return Guess(role=Role.SERVER, vendor=vendor, reasons=(*reasons, "role: HOST-RESOURCES-MIB answers"))
    for rule in rules:
        if rule.weak and rule.matches(oid, descr):
            return rule.guess(descr, vendor, reasons)
    by_layers = _from_services(sys_services)
    if by_layers is not None:
        return Guess(role=by_layers[0], vendor=vendor, reasons=(*reasons, f"role: sysServices {by_layers[1]}"))
    return Guess(role=Role.OTHER, vendor=vendor, reasons=(*reasons, "role: nothing in sysDescr, LLDP or MIBs tells"))


def _from_lldp(enabled: frozenset[str]) -> Role | None:
    if "router" in enabled:
        return Role.ROUTER
    if "wlanAccessPoint" in enabled:
        return Role.ACCESS_POINT
    if "telephone" in enabled:  # VC codecs and IP phones advertise the telephone capability (LLDP-MED)
        return Role.VC_ENDPOINT
    if "bridge" in enabled:
        return Role.SWITCH
    if "stationOnly" in enabled:
        return Role.SERVER
    return None


def _from_services(services: int | None) -> tuple[Role, str] | None:
    """Read sysServices' OSI layer bits (RFC 3418: layer L adds 2**(L-1))."""
    if services is None or services <= 0:
        return None
    if services & 0x04:
        return Role.ROUTER, "says layer 3 (internet)"
    if services & 0x02:
        return Role.SWITCH, "says layer 2 (datalink) and not layer 3"
    return None
