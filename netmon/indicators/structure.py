"""The structure in force on a day, and a period split at the reorganisations inside it.

Vietnam's local government changed on 2025-07-01 (districts abolished, communes and provinces
merged). A report must count each day in the structure in force that day:

- a unit is in force on local day D when valid_from <= D < valid_to (UnitSpec.in_force);
- a device or link belongs on day D to its previous_unit before moved_on, else to its unit;
  when that unit is not in force on D, to its successor (followed as far as needed): a merged
  unit's history rolls up into its successor for later periods. An object whose unit is not in
  force and has no successor in force is left out of that day's structure;
- a period is split at every valid_from, valid_to and moved_on strictly inside it; each part is
  computed in the structure in force on its first day, and the rows say which part they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from netmon.indicators.period import Period
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec, unit_on

__all__ = ["Part", "change_days", "in_force", "split"]


@dataclass(frozen=True, kw_only=True)
class Part:
    """One part of a period: UTC bounds, local first and last day (inclusive), and its label.

    The label is "" for a period that is not split, else "YYYY-MM-DD..YYYY-MM-DD".
    """

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    label: str


def change_days(inventory: Inventory) -> list[date]:
    """Return every day the structure changes: units' valid_from/valid_to, devices' and links' moved_on."""
    days: set[date] = set()
    for unit in inventory.units.values():
        days.update(d for d in (unit.valid_from, unit.valid_to) if d is not None)
    objects: list[DeviceSpec | LinkSpec] = [*inventory.devices.values(), *inventory.links.values()]
    days.update(obj.moved_on for obj in objects if obj.moved_on is not None)
    return sorted(days)


def split(period: Period, inventory: Inventory) -> list[Part]:
    """Split *period* at the change days strictly inside it (local midnight in the period's zone)."""
    zone = ZoneInfo(period.zone)
    first = period.start.astimezone(zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date() if period.end > period.start else first
    cuts = [d for d in change_days(inventory) if first < d <= last]
    if not cuts:
        return [Part(start=period.start, end=period.end, first_day=first, last_day=last, label="")]
    bounds = [period.start, *(_midnight(d, zone) for d in cuts), period.end]
    days = [first, *cuts]
    parts: list[Part] = []
    for index, day in enumerate(days):
        end_day = days[index + 1] - timedelta(days=1) if index + 1 < len(days) else last
        parts.append(
            Part(
                start=bounds[index],
                end=bounds[index + 1],
                first_day=day,
                last_day=end_day,
                label=f"{day.isoformat()}..{end_day.isoformat()}",
            )
        )
    return parts


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def in_force(inventory: Inventory, day: date) -> Inventory:
    """Return the inventory as it stood on local *day*: units in force, objects in their unit of that day."""
    units = {code: unit for code, unit in inventory.units.items() if unit.in_force(day)}
    devices: dict[str, DeviceSpec] = {}
    for name, device in inventory.devices.items():
        home = _home(inventory, unit_on(device, day), day)
        if home is not None:
            devices[name] = device if home == device.unit else device.model_copy(update={"unit": home})
    links: dict[str, LinkSpec] = {}
    for name, link in inventory.links.items():
        home = _home(inventory, unit_on(link, day), day)
        if home is not None:
            links[name] = link if home == link.unit else link.model_copy(update={"unit": home})
    return Inventory(units=units, devices=devices, links=links)


def _home(inventory: Inventory, code: str, day: date) -> str | None:
    """Follow successors from unit *code* to the first unit in force on *day*; None if there is none."""
    seen: set[str] = set()
    unit: UnitSpec | None = inventory.units.get(code)
    while unit is not None and unit.code not in seen:
        if unit.in_force(day):
            return unit.code
        seen.add(unit.code)
        unit = inventory.units.get(unit.successor) if unit.successor is not None else None
    return None
