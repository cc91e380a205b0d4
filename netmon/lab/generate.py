"""Synthetic provinces of any size, on loopback addresses, in the inventory import format.

Usage: python -m netmon.lab.generate --devices 10000 -o var/province-10k.yaml
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = ["synthetic_province"]

#: Synthetic devices live in 127.64.0.0/10, away from the example province (127.20.x.x).
_BASE = int(ipaddress.IPv4Address("127.64.0.0"))
_DEPARTMENTS = 20
_WARDS_PER_DISTRICT = 15
_PER_UNIT = 4  # router, switch, and two more per unit


def _addresses() -> Iterator[str]:
    offset = 0
    while True:
        offset += 1
        if offset % 256 not in (0, 255):
            yield str(ipaddress.IPv4Address(_BASE + offset))


def synthetic_province(devices: int, *, profile: str | None = "lab-v2c") -> dict[str, list[dict[str, Any]]]:
    """Return a province of about *devices* devices: departments, districts, and 15 wards per district."""
    fixed = 6 + _DEPARTMENTS * _PER_UNIT
    districts = max(1, math.ceil((devices - fixed) / (_PER_UNIT * (1 + _WARDS_PER_DISTRICT))))
    addresses = _addresses()
    doc: dict[str, list[dict[str, Any]]] = {"units": [], "devices": [], "links": []}

    def unit(code: str, name: str, level: str, parent: str | None, staff: int) -> None:
        row: dict[str, Any] = {"code": code, "name": name, "level": level, "staff": staff, "computers": staff}
        if parent:
            row["parent"] = parent
        doc["units"].append(row)

    def device(name: str, unit_code: str, role: str, parent: str | None) -> str:
        row: dict[str, Any] = {"name": name, "unit": unit_code, "role": role, "address": next(addresses)}
        if profile and role in ("router", "switch", "server", "firewall"):
            row["snmp"] = profile
        if parent:
            row["parent"] = parent
        doc["devices"].append(row)
        return name

    def site(code: str, upstream: str | None, extra: tuple[str, ...], kinds: tuple[str, ...]) -> str:
        slug = code.lower()
        router = device(f"{slug}-r1", code, "router", upstream)
        switch = device(f"{slug}-sw1", code, "switch", router)
        for index, role in enumerate(extra, start=1):
            device(f"{slug}-{role.replace('_', '')}{index}", code, role, switch)
        for kind in kinds:
            on = switch if kind == "lan" else router
            doc["links"].append(
                {"name": f"{slug}-{kind}", "kind": kind, "unit": code, "device": on, "interface": "ge-0/0/1"}
            )
        return router

    unit("GP", "Tỉnh Giả Lập", "province", None, 120)
    core = site("GP", None, ("firewall", "server", "server", "vc_endpoint"), ("lan", "internet", "man", "tslcd"))
    for d in range(1, _DEPARTMENTS + 1):
        unit(f"GP-S{d:02}", f"Sở Giả Lập {d}", "department", "GP", 60)
        site(f"GP-S{d:02}", core, ("server", "vc_endpoint"), ("lan", "internet", "man", "tslcd"))
    for h in range(1, districts + 1):
        district = f"GP-H{h:03}"
        unit(district, f"Huyện Giả Lập {h}", "district", "GP", 50)
        hub = site(district, core, ("server", "vc_endpoint"), ("lan", "internet", "wan", "tslcd"))
        for x in range(1, _WARDS_PER_DISTRICT + 1):
            ward = f"{district}-X{x:02}"
            unit(ward, f"Xã Giả Lập {h}.{x}", "commune", district, 15)
            site(ward, hub, ("vc_endpoint", "access_point"), ("lan", "internet", "tslcd"))
    return doc


def main() -> None:
    """Write a synthetic province to a YAML file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10_000, help="about how many devices (default 10000)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the YAML file to write")
    args = parser.parse_args()
    doc = synthetic_province(args.devices)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    main()
