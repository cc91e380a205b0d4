"""Import planning: merge files over the database, validate the result whole, and diff it.

Validation runs on the merged inventory (what the database would hold after the import),
so a file may refer to units already stored, and `--prune` cannot orphan a stored record.
Every issue is collected; nothing is written unless there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from netmon.errors import InventoryError, Issue
from netmon.inventory.files import Parsed
from netmon.inventory.models import CommuneType, Level, ServiceCheck
from netmon.inventory.spec import KINDS, DeviceSpec, Inventory, LinkSpec, Origin, Record, ServiceSpec, Spec, UnitSpec

__all__ = ["DATABASE", "Change", "Plan", "make_plan"]

DATABASE = Origin(source="database")

#: The levels a unit's parent may have, by the unit's level: a commune sits under the province
#: (two-tier, since 2025-07-01) or under a district (three-tier, historic).
_PARENT_LEVEL: dict[Level, tuple[Level, ...]] = {
    Level.PROVINCE: (),
    Level.DEPARTMENT: (Level.PROVINCE,),
    Level.DISTRICT: (Level.PROVINCE,),
    Level.COMMUNE: (Level.PROVINCE, Level.DISTRICT),
}

#: The first day of the two-tier local government: no district is formed from it on, and a
#: commune under the province is in force on or after it.
_TWO_TIER_SINCE = date(2025, 7, 1)


@dataclass(frozen=True, kw_only=True)
class Change:
    """One record to create, update (with the fields that change) or delete."""

    action: Literal["create", "update", "delete"]
    noun: str
    key: str
    fields: tuple[tuple[str, Any, Any], ...] = ()

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        text = f"{sign} {self.noun} {self.key}"
        if self.fields:
            text += ": " + "; ".join(f"{name} {_show(old)} → {_show(new)}" for name, old, new in self.fields)
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-ready data."""
        return {
            "action": self.action,
            "kind": self.noun,
            "key": self.key,
            "fields": {name: {"old": _plain(old), "new": _plain(new)} for name, old, new in self.fields},
        }


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    return str(value) if hasattr(value, "value") else value


def _show(value: object) -> str:
    if value is None or value == ():
        return "—"
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)


@dataclass(frozen=True)
class Plan:
    """What an import would change, and the inventory it would leave."""

    current: Inventory
    desired: Inventory
    changes: tuple[Change, ...]
    rows: int

    def count(self, action: str) -> int:
        """Return how many changes have this action."""
        return sum(1 for change in self.changes if change.action == action)

    def summary(self) -> str:
        """Return a one-line summary of the plan."""
        unchanged = len(self.desired) - self.count("create") - self.count("update")
        return (
            f"{self.count('create')} to create, {self.count('update')} to update, "
            f"{self.count('delete')} to delete, {unchanged} unchanged"
        )


@dataclass
class _Merged:
    """The inventory after the import, each record with its origin."""

    current: Inventory
    invalid: dict[type[Spec], set[str]]
    by_kind: dict[type[Spec], dict[str, Record]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def get(self, kind: type[Spec], key: str | None) -> Spec | None:
        record = self.by_kind[kind].get(key) if key is not None else None
        return record.spec if record is not None else None

    def lacks(self, kind: type[Spec], key: str) -> bool:
        """Tell whether *key* is unknown: neither merged nor a record that failed to parse."""
        return key not in self.by_kind[kind] and key not in self.invalid[kind]

    def check_ref(self, record: Record, name: str, kind: type[Spec], what: str) -> bool:
        """Report field *name* if it names a *kind* record that will not exist; tell whether it was fine."""
        key = getattr(record.spec, name)
        if key is None or not self.lacks(kind, key):
            return True
        if key in self.current.of(kind):
            self.issue(
                record,
                name,
                f"{what} {key!r} is not in the files, so --prune would delete it, but this record refers to it",
            )
        else:
            self.issue(record, name, f"unknown {what} {key!r}")
        return False

    def issue(self, record: Record, name: str, message: str) -> None:
        spec = record.spec
        source, line = record.origin.place(name)
        self.issues.append(Issue(source=source, line=line, where=f"{spec.noun} {spec.key!r}: {name}", message=message))


def make_plan(
    current: Inventory, parsed: Parsed, *, profiles: Collection[str], prune: bool, allow_empty: bool = False
) -> Plan:
    """Validate *parsed* over *current*; return the plan or raise InventoryError with every issue.

    With *prune*, a list the files give without a record (`links: []`, a header-only CSV, an
    exported empty sheet) would delete every stored record of it: that is an issue unless
    *allow_empty* says the operator means it.
    """
    merged = _merge(current, parsed, prune, allow_empty)
    _check_units(merged)
    _check_devices(merged, profiles)
    _check_links(merged)
    _check_services(merged)
    issues = parsed.issues + merged.issues
    if issues:
        raise InventoryError(issues)
    desired = Inventory(
        units={k: r.spec for k, r in merged.by_kind[UnitSpec].items()},  # type: ignore[misc]
        devices={k: r.spec for k, r in merged.by_kind[DeviceSpec].items()},  # type: ignore[misc]
        links={k: r.spec for k, r in merged.by_kind[LinkSpec].items()},  # type: ignore[misc]
        services={k: r.spec for k, r in merged.by_kind[ServiceSpec].items()},  # type: ignore[misc]
    )
    return Plan(current=current, desired=desired, changes=tuple(_diff(current, desired)), rows=len(parsed))


def _merge(current: Inventory, parsed: Parsed, prune: bool, allow_empty: bool) -> _Merged:
    merged = _Merged(current=current, invalid=parsed.invalid)
    for kind in KINDS:
        keep_stored = not (prune and kind in parsed.provided)
        if not keep_stored and not allow_empty and _prunes_all(current, parsed, kind):
            source, line = parsed.provided[kind]
            stored = len(current.of(kind))
            message = (
                f"--prune would delete every stored {kind.noun} ({stored}): the files give no {kind.plural}; "
                f"add --allow-empty if that is what you want"
            )
            merged.issues.append(Issue(source=source, line=line, where=kind.plural, message=message))
            keep_stored = True  # one issue, not one per record that refers to them
        records = {key: Record(spec, DATABASE) for key, spec in current.of(kind).items()} if keep_stored else {}
        first: dict[str, Record] = {}
        folded = {key.casefold(): key for key in records}  # "SW1" and "sw1" name one device to an engineer
        for record in parsed.records[kind]:
            key = record.spec.key
            if key in first:
                where = first[key].origin
                merged.issue(
                    record,
                    kind.key_field,
                    f"duplicate {kind.noun} {kind.key_field} (first at {where.describe(kind.key_field)})",
                )
                continue
            other = folded.get(key.casefold())
            if other is not None and other != key:
                seen = first[other].origin.describe(kind.key_field) if other in first else "the database"
                merged.issue(
                    record,
                    kind.key_field,
                    f"{key!r} differs from {kind.noun} {other!r} ({seen}) only in letter case: use one spelling",
                )
                continue
            first[key] = record
            records[key] = record
            folded[key.casefold()] = key
        merged.by_kind[kind] = records
    return merged


def _prunes_all(current: Inventory, parsed: Parsed, kind: type[Spec]) -> bool:
    """Tell whether the files give *kind*'s list without one record while the database holds some."""
    return bool(current.of(kind)) and not parsed.records[kind] and not parsed.invalid[kind]


def _check_units(merged: _Merged) -> None:
    for record in merged.by_kind[UnitSpec].values():
        unit: UnitSpec = record.spec  # type: ignore[assignment]
        if not merged.check_ref(record, "parent", UnitSpec, "parent unit"):
            continue
        wanted = _PARENT_LEVEL[unit.level]
        parent = merged.get(UnitSpec, unit.parent)
        if not wanted and unit.parent is not None:
            merged.issue(record, "parent", "a province has no parent unit")
        elif wanted and unit.parent is None:
            merged.issue(record, "parent", f"a {unit.level} needs a parent unit: {_a(wanted)}")
        elif isinstance(parent, UnitSpec) and wanted and parent.level not in wanted:
            merged.issue(
                record, "parent", f"a {unit.level}'s parent must be {_a(wanted)}, not {parent.level} {parent.code!r}"
            )
        elif isinstance(parent, UnitSpec) and not _empty(unit):  # an empty validity is reported below
            _check_in_force_under(merged, record, unit, parent)
        if not _empty(unit):
            _check_type_in_force(merged, record, unit)
        _check_validity(merged, record, unit)
    _check_cycles(merged, UnitSpec, lambda spec: spec.parent)  # type: ignore[attr-defined]


def _span(unit: UnitSpec) -> str:
    dates = {"valid_from": unit.valid_from, "valid_to": unit.valid_to}
    return ", ".join(f"{name} {day.isoformat()}" for name, day in dates.items() if day is not None) or "always"


def _check_in_force_under(merged: _Merged, record: Record, unit: UnitSpec, parent: UnitSpec) -> None:
    """Check the two structures' dates: a unit lies within its parent's validity, on its side of 2025-07-01."""
    if unit.level is Level.DISTRICT and unit.valid_from is not None and unit.valid_from >= _TWO_TIER_SINCE:
        message = f"no district since {_TWO_TIER_SINCE.isoformat()} (two-tier: communes sit under the province)"
        merged.issue(record, "valid_from", message)
    elif unit.level is Level.DISTRICT and unit.valid_to is not None and unit.valid_to > _TWO_TIER_SINCE:
        message = f"no district since {_TWO_TIER_SINCE.isoformat()}: its valid_to is {_TWO_TIER_SINCE.isoformat()}"
        merged.issue(record, "valid_to", message + " at the latest (the districts ended with the reform)")
    elif unit.level is Level.COMMUNE and parent.level is Level.PROVINCE and _ends_by(unit, _TWO_TIER_SINCE):
        message = f"before {_TWO_TIER_SINCE.isoformat()} a commune sat under a district, not under the province"
        merged.issue(record, "parent", message)
    elif unit.level is Level.COMMUNE and parent.level is Level.DISTRICT and _starts_on(unit, _TWO_TIER_SINCE):
        message = f"since {_TWO_TIER_SINCE.isoformat()} a commune sits under the province, not under a district"
        merged.issue(record, "parent", message)
    elif (parent.valid_from is not None and (unit.valid_from is None or unit.valid_from < parent.valid_from)) or (
        parent.valid_to is not None and (unit.valid_to is None or unit.valid_to > parent.valid_to)
    ):
        message = f"the parent unit {parent.code!r} ({_span(parent)}) is not in force whenever this unit is"
        message += f" ({_span(unit)})"
        merged.issue(record, "parent", message)


def _check_type_in_force(merged: _Merged, record: Record, unit: UnitSpec) -> None:
    """Check a commune's type against 2025-07-01: thị trấn ended with the districts, đặc khu began with the reform.

    Only dates that say so are reported, at the date that says it: an undated unit is "always" and imports.
    """
    if unit.level is not Level.COMMUNE:
        return  # a type on another level is reported by _check_validity
    reform = _TWO_TIER_SINCE.isoformat()
    if unit.type is CommuneType.THI_TRAN:
        gone = f"no thị trấn since {reform} (abolished with the districts: it became a xã or phường)"
        if _starts_on(unit, _TWO_TIER_SINCE):
            merged.issue(record, "valid_from", gone)
        elif unit.valid_to is not None and unit.valid_to > _TWO_TIER_SINCE:
            merged.issue(record, "valid_to", f"{gone}; its valid_to is {reform} at the latest")
    elif unit.type is CommuneType.DAC_KHU:
        new = f"no đặc khu before {reform} (created by the reform: before it, an island district was a huyện)"
        if _ends_by(unit, _TWO_TIER_SINCE):
            merged.issue(record, "valid_to", new)
        elif unit.valid_from is not None and unit.valid_from < _TWO_TIER_SINCE:
            merged.issue(record, "valid_from", f"{new}; its valid_from is {reform} at the earliest")


def _empty(unit: UnitSpec) -> bool:
    return unit.valid_from is not None and unit.valid_to is not None and unit.valid_to <= unit.valid_from


def _ends_by(unit: UnitSpec, day: date) -> bool:
    return unit.valid_to is not None and unit.valid_to <= day


def _starts_on(unit: UnitSpec, day: date) -> bool:
    return unit.valid_from is not None and unit.valid_from >= day


def _a(levels: tuple[Level, ...]) -> str:
    return " or ".join("the province" if level is Level.PROVINCE else f"a {level}" for level in levels)


def _check_validity(merged: _Merged, record: Record, unit: UnitSpec) -> None:
    """Check a unit's type, dates and successor (docs/inventory.md, "Two structures")."""
    if unit.type is not None and unit.level is not Level.COMMUNE:
        merged.issue(record, "type", f"only a commune has a type (xã, phường, đặc khu, thị trấn), not a {unit.level}")
    if unit.valid_from is not None and unit.valid_to is not None and unit.valid_to <= unit.valid_from:
        merged.issue(record, "valid_to", f"must be after valid_from ({unit.valid_from.isoformat()})")
    if unit.successor is None or not merged.check_ref(record, "successor", UnitSpec, "successor unit"):
        return
    successor = merged.get(UnitSpec, unit.successor)
    if unit.valid_to is None:
        merged.issue(record, "successor", "a unit with a successor needs valid_to (the day it merged)")
    elif not isinstance(successor, UnitSpec):
        return
    elif successor.code == unit.code:
        merged.issue(record, "successor", "a unit cannot be its own successor")
    elif successor.level is not unit.level:
        other = f"the successor {successor.code!r} is a {successor.level}, not a {unit.level}"
        merged.issue(record, "successor", other)
    elif not successor.in_force(unit.valid_to):
        merged.issue(
            record, "successor", f"the successor {successor.code!r} is not in force on {unit.valid_to.isoformat()}"
        )


def _check_move(merged: _Merged, record: Record) -> None:
    """Check a dated move: it names both the unit before (previous_unit) and the day it moved (moved_on)."""
    spec = record.spec
    previous, moved_on = getattr(spec, "previous_unit", None), getattr(spec, "moved_on", None)
    if (previous is None) != (moved_on is None):
        missing = "moved_on" if moved_on is None else "previous_unit"
        merged.issue(record, missing, "a move needs both previous_unit and moved_on")
    merged.check_ref(record, "previous_unit", UnitSpec, "unit")


def _check_devices(merged: _Merged, profiles: Collection[str]) -> None:
    addresses: dict[str, Record] = {}
    known = ", ".join(sorted(profiles)) or "none"
    for record in merged.by_kind[DeviceSpec].values():
        device: DeviceSpec = record.spec  # type: ignore[assignment]
        merged.check_ref(record, "unit", UnitSpec, "unit")
        _check_move(merged, record)
        merged.check_ref(record, "parent", DeviceSpec, "parent device")
        if device.snmp is not None and device.snmp not in profiles:
            # the value is not echoed: an operator who mistakes the field types the community there
            message = (
                f"not an SNMP profile of the config (it defines: {known}); give a profile's name, never a community"
            )
            merged.issue(record, "snmp", message)
        other = addresses.setdefault(device.address, record)
        if other is not record:
            place = other.origin.describe("address") if other.origin.line else other.origin.source
            merged.issue(
                record, "address", f"address {device.address} is already used by device {other.spec.key!r} ({place})"
            )
    _check_cycles(merged, DeviceSpec, lambda spec: spec.parent)  # type: ignore[attr-defined]


def _check_links(merged: _Merged) -> None:
    for record in merged.by_kind[LinkSpec].values():
        link: LinkSpec = record.spec  # type: ignore[assignment]
        merged.check_ref(record, "unit", UnitSpec, "unit")
        _check_move(merged, record)
        merged.check_ref(record, "device", DeviceSpec, "device")
        if link.interface is not None and link.device is None:
            merged.issue(record, "interface", "an interface needs a device: name the device that has it")


#: The field each check needs, and the fields that make no sense for it.
_CHECK_FIELDS: dict[ServiceCheck, tuple[str, tuple[str, ...]]] = {
    ServiceCheck.HTTP: ("url", ("address",)),
    ServiceCheck.TCP: ("address", ("url", "body_match", "expect_status", "tls_verify")),
}


def _check_services(merged: _Merged) -> None:
    for record in merged.by_kind[ServiceSpec].values():
        service: ServiceSpec = record.spec  # type: ignore[assignment]
        merged.check_ref(record, "unit", UnitSpec, "unit")
        merged.check_ref(record, "device", DeviceSpec, "device")
        needed, foreign = _CHECK_FIELDS[service.check]
        if getattr(service, needed) is None:
            example = "https://dichvucong.example.gov.vn/" if needed == "url" else "198.18.0.10:443"
            merged.issue(record, needed, f"check {service.check} needs {needed} (e.g. {example})")
        for name in foreign:
            if getattr(service, name) != ServiceSpec.model_fields[name].default:
                merged.issue(record, name, f"check {service.check} takes no {name}")


def _check_cycles(merged: _Merged, kind: type[Spec], parent_of: Callable[[Spec], str | None]) -> None:
    """Report each parent cycle once, at its first record in file order."""
    records = merged.by_kind[kind]
    settled: set[str] = set()
    for start in records:
        chain: list[str] = []
        on_chain: set[str] = set()
        key: str | None = start
        while key is not None and key in records and key not in settled and key not in on_chain:
            chain.append(key)
            on_chain.add(key)
            key = parent_of(records[key].spec)
        if key is not None and key in on_chain:
            cycle = chain[chain.index(key) :]
            first = min(cycle, key=lambda k: (records[k].origin is DATABASE, list(records).index(k)))
            loop = cycle[cycle.index(first) :] + cycle[: cycle.index(first)] + [first]
            merged.issue(records[first], "parent", "parent chain is a cycle: " + " → ".join(loop))
        settled.update(chain)


def _diff(current: Inventory, desired: Inventory) -> list[Change]:
    changes: list[Change] = []
    for kind in KINDS:
        old_all: Mapping[str, Spec] = current.of(kind)
        new_all: Mapping[str, Spec] = desired.of(kind)
        for key, new in new_all.items():
            old = old_all.get(key)
            if old is None:
                changes.append(Change(action="create", noun=kind.noun, key=key))
            elif old != new:
                fields = tuple(
                    (name, getattr(old, name), getattr(new, name))
                    for name in kind.model_fields
                    if getattr(old, name) != getattr(new, name)
                )
                changes.append(Change(action="update", noun=kind.noun, key=key, fields=fields))
        changes.extend(Change(action="delete", noun=kind.noun, key=key) for key in old_all if key not in new_all)
    return changes
