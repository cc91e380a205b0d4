"""Read-only views of an inventory snapshot: one record with its neighbourhood."""

from __future__ import annotations

from collections import Counter
from typing import Any

from netmon.errors import NotFoundError
from netmon.inventory.spec import Inventory, UnitSpec

__all__ = ["describe", "require_unit", "service_rows", "units_below"]


def describe(inventory: Inventory, name: str) -> dict[str, Any]:
    """Describe the device, link or unit (by code) called *name*, with what surrounds it."""
    if name in inventory.devices:
        return _device(inventory, name)
    if name in inventory.links:
        link = inventory.links[name]
        return {"type": "link", **link.to_row(), "unit_path": _unit_path(inventory, link.unit)}
    if name in inventory.units:
        return _unit(inventory, name)
    if name in inventory.services:
        service = inventory.services[name]
        return {
            "type": "service",
            **service.to_row(),
            "enabled": service.enabled,
            "unit_path": _unit_path(inventory, service.unit),
        }
    raise NotFoundError(f"no device, link, unit or service called {name!r}")


def _unit_path(inventory: Inventory, code: str) -> list[dict[str, str]]:
    path: list[dict[str, str]] = []
    current: UnitSpec | None = inventory.units.get(code)
    while current is not None and len(path) <= len(inventory.units):
        path.insert(0, {"code": current.code, "name": current.name, "level": str(current.level)})
        current = inventory.units.get(current.parent) if current.parent else None
    return path


def _device(inventory: Inventory, name: str) -> dict[str, Any]:
    device = inventory.devices[name]
    upstream: list[str] = []
    parent = device.parent
    while parent is not None and parent not in upstream and len(upstream) <= len(inventory.devices):
        upstream.append(parent)
        parent = inventory.devices[parent].parent if parent in inventory.devices else None
    return {
        "type": "device",
        **device.to_row(),
        "enabled": device.enabled,
        "unit_path": _unit_path(inventory, device.unit),
        "upstream": upstream,
        "children": [d.name for d in inventory.devices.values() if d.parent == name],
        "links": [link.to_row() for link in inventory.links.values() if link.device == name],
        "services": [s.name for s in inventory.services.values() if s.device == name],
    }


def _unit(inventory: Inventory, code: str) -> dict[str, Any]:
    unit = inventory.units[code]
    devices = [d for d in inventory.devices.values() if d.unit == code]
    row = unit.to_row()
    if "type" in row:  # a commune's xã/phường/đặc khu must not replace the record's "type": "unit"
        row["commune_type"] = row.pop("type")
    return {
        "type": "unit",
        **row,
        "unit_path": _unit_path(inventory, code),
        "children": [u.code for u in inventory.units.values() if u.parent == code],
        "devices_by_role": dict(sorted(Counter(str(d.role) for d in devices).items())),
        "devices": [d.name for d in devices],
        "links": [link.to_row() for link in inventory.links.values() if link.unit == code],
        "services": [s.name for s in inventory.services.values() if s.unit == code],
    }


def require_unit(inventory: Inventory, code: str) -> UnitSpec:
    """Return unit *code*, or raise NotFoundError: the one wording of an unknown unit code, CLI and API alike."""
    unit = inventory.units.get(code)
    if unit is None:
        raise NotFoundError(f"no unit with code {code!r}")
    return unit


def units_below(inventory: Inventory, code: str) -> set[str]:
    """Return the code of unit *code* and of every unit below it; NotFoundError (`require_unit`) if unknown."""
    require_unit(inventory, code)
    children: dict[str | None, list[str]] = {}
    for unit in inventory.units.values():
        children.setdefault(unit.parent, []).append(unit.code)
    scope, todo = set(), [code]
    while todo:
        current = todo.pop()
        if current not in scope:
            scope.add(current)
            todo.extend(children.get(current, ()))
    return scope


def service_rows(inventory: Inventory, unit: str | None = None) -> list[dict[str, Any]]:
    """List services (of unit *unit* and the units below it) with their unit's name and level.

    Raises NotFoundError for an unknown unit code.
    """
    scope = units_below(inventory, unit) if unit is not None else None
    rows: list[dict[str, Any]] = []
    for service in inventory.services.values():
        if scope is not None and service.unit not in scope:
            continue
        owner = inventory.units[service.unit]
        rows.append(
            {
                **service.to_row(),
                "expect_status": service.expect_status,
                "enabled": service.enabled,
                "unit_name": owner.name,
                "level": str(owner.level),
            }
        )
    return rows
