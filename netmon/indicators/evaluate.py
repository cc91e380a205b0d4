"""Evaluate one definition's terms for one unit, from declared counts and live or period state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from netmon.indicators.definitions import (
    Catalog,
    Condition,
    Definition,
    ObjectSet,
    Quantity,
    share_decimals,
    share_text,
)
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.monitor.availability import StateSeconds
from netmon.monitor.state import State

__all__ = ["Facts", "Term", "UnitIndex"]

ObjectKey = tuple[str, str]


@dataclass(frozen=True)
class Facts:
    """What monitoring says: live states (live=True), or seconds per state over a period."""

    live: bool
    states: Mapping[ObjectKey, State] = field(default_factory=dict)
    seconds: Mapping[ObjectKey, StateSeconds] = field(default_factory=dict)

    def up(self, key: ObjectKey) -> float:
        """Return 1/0 (live: up now) or the seconds up in the period."""
        if self.live:
            return 1.0 if self.states.get(key) is State.UP else 0.0
        return self.seconds.get(key, StateSeconds()).up

    def judged(self, key: ObjectKey) -> float:
        """Return 1/0 (live: up or down now) or the seconds up or down in the period."""
        if self.live:
            return 1.0 if self.states.get(key) in (State.UP, State.DOWN) else 0.0
        spent = self.seconds.get(key, StateSeconds())
        return spent.up + spent.down

    def works(self, key: ObjectKey, min_ratio: float) -> str | None:
        """Describe why the object counts as working (live: up now; period: availability >= min_ratio), else None."""
        if self.live:
            return "up now" if self.states.get(key) is State.UP else None
        ratio = self.seconds.get(key, StateSeconds()).ratio
        if ratio is None or ratio < min_ratio:
            return None
        decimals = max(1, share_decimals(min_ratio) + 1)  # 99.95% passes 99.9%: not "100.0% ≥ 100%"
        return f"up {ratio:.{decimals}%} ≥ {share_text(min_ratio)}"


@dataclass(frozen=True)
class Term:
    """A quantity's value for one unit and what was counted in it."""

    value: float
    evidence: tuple[str, ...] = ()


class UnitIndex:
    """The inventory's enabled devices and links by unit, built once per computation."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.devices: dict[str, list[DeviceSpec]] = defaultdict(list)
        self.links: dict[str, list[LinkSpec]] = defaultdict(list)
        for device in inventory.devices.values():
            if device.enabled:
                self.devices[device.unit].append(device)
        for link in inventory.links.values():
            self.links[link.unit].append(link)

    def quantity(self, term: Quantity, unit: UnitSpec, facts: Facts, catalog: Catalog) -> Term:
        """Evaluate *term* for *unit*."""
        if term.units == "all":
            return Term(1, (f"unit:{unit.code}",))
        if isinstance(term.units, Condition):
            why = self.condition(term.units, unit, facts, catalog)
            return Term(1, (f"unit:{unit.code} ({why})",)) if why is not None else Term(0)
        objects = term.up or term.judged
        if objects is None:
            return self._declared(term, unit)
        measure, what = (facts.up, "up") if term.up is not None else (facts.judged, "up+down")
        total, evidence = 0.0, []
        for key in self._objects(unit, objects):
            value = measure(key)
            total += value
            if value:
                evidence.append(f"{key[0]}:{key[1]} {what}" + ("" if facts.live else f" {value:.0f} s"))
        return Term(total, tuple(evidence))

    def _declared(self, term: Quantity, unit: UnitSpec) -> Term:
        """Evaluate a term over declared data only: counts, capacities, devices and links."""
        if term.sum is not None:
            if getattr(unit, term.sum) is None and term.or_devices is not None:
                devices = [d for d in self.devices[unit.code] if d.role in term.or_devices]
                why = f"no declared {term.sum}: counted from the inventory"
                return Term(len(devices), tuple(f"device:{d.name} ({d.role}) — {why}" for d in devices))
            return _unit_count(unit, term.sum, term.cap)
        if term.capacity_mbps is not None:
            links = [link for link in self.links[unit.code] if link.kind in term.capacity_mbps]
            capacity = sum(link.capacity_mbps or 0 for link in links)
            return Term(capacity, tuple(f"link:{x.name} ({x.kind}) {x.capacity_mbps or 0} Mbps" for x in links))
        if term.devices is not None:
            devices = [d for d in self.devices[unit.code] if d.role in term.devices]
            return Term(len(devices), tuple(f"device:{d.name} ({d.role})" for d in devices))
        if term.links is not None:
            links = [link for link in self.links[unit.code] if link.kind in term.links]
            return Term(len(links), tuple(f"link:{x.name} ({x.kind})" for x in links))
        raise AssertionError(term)  # pragma: no cover (the model validator requires one key)

    def condition(self, test: Condition, unit: UnitSpec, facts: Facts, catalog: Catalog) -> str | None:
        """Return why *unit* meets the condition, or None when it does not."""
        if test.any is not None:
            return next((why for c in test.any if (why := self.condition(c, unit, facts, catalog)) is not None), None)
        if test.all is not None:
            reasons = [self.condition(c, unit, facts, catalog) for c in test.all]
            return "; ".join(r for r in reasons if r is not None) if all(r is not None for r in reasons) else None
        if test.has_link is not None:
            return _first(f"link:{x.name} ({x.kind}) declared" for x in self._links(unit, test.has_link))
        if test.has_device is not None:
            return _first(f"device:{d.name} ({d.role}) declared" for d in self._devices(unit, test.has_device))
        if test.link_up is not None:
            threshold = catalog.threshold(test.link_up.min_ratio)
            keys = [("link", x.name) for x in self._links(unit, test.link_up.kind)]
        elif test.device_up is not None:
            threshold = catalog.threshold(test.device_up.min_ratio)
            keys = [("device", d.name) for d in self._devices(unit, test.device_up.role)]
        else:  # pragma: no cover (the model validator requires one key)
            raise AssertionError(test)
        for key in keys:
            why = facts.works(key, threshold)
            if why is not None:
                return f"{key[0]}:{key[1]} {why}"
        return None

    def monitored(self, definition: Definition, unit: UnitSpec) -> list[ObjectKey]:
        """Return the objects of *unit* whose monitoring state *definition* reads (for "no data")."""
        keys: list[ObjectKey] = []
        for term in (definition.formula.numerator, definition.formula.denominator):
            if term is None:
                continue
            for objects in (term.up, term.judged):
                if objects is not None:
                    keys.extend(self._objects(unit, objects))
            if isinstance(term.units, Condition):
                keys.extend(self._condition_objects(term.units, unit))
        return list(dict.fromkeys(keys))

    def _condition_objects(self, test: Condition, unit: UnitSpec) -> list[ObjectKey]:
        if test.link_up is not None:
            return [("link", x.name) for x in self._links(unit, test.link_up.kind)]
        if test.device_up is not None:
            return [("device", d.name) for d in self._devices(unit, test.device_up.role)]
        return [key for child in test.any or test.all or () for key in self._condition_objects(child, unit)]

    def _links(self, unit: UnitSpec, kinds: Collection[str]) -> list[LinkSpec]:
        return [link for link in self.links[unit.code] if link.kind in kinds]

    def _devices(self, unit: UnitSpec, roles: Collection[str]) -> list[DeviceSpec]:
        return [d for d in self.devices[unit.code] if d.role in roles]

    def _objects(self, unit: UnitSpec, objects: ObjectSet) -> list[ObjectKey]:
        if objects.devices is not None:
            return [("device", d.name) for d in self._devices(unit, objects.devices)]
        return [("link", x.name) for x in self._links(unit, objects.links or ())]


def _first(reasons: Iterable[str]) -> str | None:
    return next(iter(reasons), None)


def _unit_count(unit: UnitSpec, name: str, cap: str | None) -> Term:
    """Return a declared count of the unit (0 when not declared), optionally capped at another."""
    value: int | None = getattr(unit, name)
    if value is None:
        return Term(0)
    if cap is None:
        return Term(value, (f"unit:{unit.code} {name}={value}",))
    limit: int = getattr(unit, cap) or 0
    if value <= limit:
        return Term(value, (f"unit:{unit.code} {name}={value}",))
    return Term(limit, (f"unit:{unit.code} {name}={value} capped at {cap}={limit}",))
