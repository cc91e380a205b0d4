"""Indicator rows per unit, rolled up per level and over all levels, live or for a period.

Entry points:
- `compute(engine, inventory, period, level, zone, now, definitions)`: reads the database
  (latest states for live, the state history for a period); what the API and the CLI call;
- `live_rows(inventory, states, definitions)`: pure, from the state engine's in-memory states,
  for the daemon's gauges (no database I/O);
- `period_rows(inventory, seconds, definitions, period)`: pure, from seconds per state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from netmon.indicators.definitions import Catalog, Definition
from netmon.indicators.evaluate import Facts, ObjectKey, UnitIndex
from netmon.indicators.period import Period, parse_period
from netmon.indicators.row import ALL_LEVELS, IndicatorRow
from netmon.inventory.models import Level
from netmon.inventory.schema import transaction
from netmon.inventory.spec import Inventory, UnitSpec
from netmon.monitor.availability import StateSeconds, object_seconds
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State

__all__ = ["compute", "live_rows", "period_rows"]


def compute(
    engine: Engine,
    inventory: Inventory,
    period: Period | str,
    *,
    level: Level | None,
    zone: ZoneInfo,
    now: datetime,
    definitions: Catalog,
) -> list[IndicatorRow]:
    """Compute every definition's rows for *period* (a Period, or text parsed in *zone* at *now*)."""
    if isinstance(period, str):
        period = parse_period(period, zone, now)
    if period.live:
        states = {(s.kind, s.name): s.state for s in OutageLedger(engine).last_states()}
        return live_rows(inventory, states, definitions, level=level)
    with transaction(engine, "indicators: state history") as conn:
        # UTC bounds: SQLite stores instants as naive UTC text and compares them as text.
        seconds = object_seconds(conn, period.start.astimezone(UTC), period.end.astimezone(UTC))
    return period_rows(inventory, seconds, definitions, period, level=level)


def live_rows(
    inventory: Inventory,
    states: Mapping[ObjectKey, State],
    definitions: Catalog,
    *,
    level: Level | None = None,
) -> list[IndicatorRow]:
    """Compute the live rows from each object's current state ((kind, name) -> State); no I/O."""
    return _rows(inventory, Facts(live=True, states=states), definitions, "live", level)


def period_rows(
    inventory: Inventory,
    seconds: Mapping[ObjectKey, StateSeconds],
    definitions: Catalog,
    period: Period,
    *,
    level: Level | None = None,
) -> list[IndicatorRow]:
    """Compute the rows of *period* from the seconds each object spent in each state; no I/O."""
    return _rows(inventory, Facts(live=False, seconds=seconds), definitions, period.label, level)


@dataclass
class _Sum:
    """a and b summed over units, with their evidence."""

    a: float = 0
    b: float | None = None
    evidence_a: tuple[str, ...] = ()
    evidence_b: tuple[str, ...] = ()

    def add(self, other: _Sum) -> None:
        self.a += other.a
        if other.b is not None:
            self.b = (self.b or 0) + other.b
        self.evidence_a += other.evidence_a
        self.evidence_b += other.evidence_b


def _rows(inventory: Inventory, facts: Facts, catalog: Catalog, label: str, only: Level | None) -> list[IndicatorRow]:
    index = UnitIndex(inventory)
    rows: list[IndicatorRow] = []
    for definition in catalog:
        levels = [lvl for lvl in Level if lvl in definition.levels and only in (None, lvl)]
        start = None if definition.formula.denominator is None else 0
        everything = _Sum(b=start)
        for lvl in levels:
            total = _Sum(b=start)
            for unit in inventory.units.values():
                if unit.level is not lvl:
                    continue
                cell = _cell(definition, unit, index, facts, catalog)
                total.add(cell)
                rows.append(_row(definition, label, unit, lvl.value, cell))
            everything.add(total)
            rows.append(_row(definition, label, None, lvl.value, total))
        if only is None:
            rows.append(_row(definition, label, None, ALL_LEVELS, everything))
    return rows


def _cell(definition: Definition, unit: UnitSpec, index: UnitIndex, facts: Facts, catalog: Catalog) -> _Sum:
    a = index.quantity(definition.formula.numerator, unit, facts, catalog)
    denominator = definition.formula.denominator
    if denominator is None:
        return _Sum(a=a.value, evidence_a=a.evidence)
    b = index.quantity(denominator, unit, facts, catalog)
    return _Sum(a=a.value, b=b.value, evidence_a=a.evidence, evidence_b=b.evidence)


def _row(definition: Definition, label: str, unit: UnitSpec | None, level: str, cell: _Sum) -> IndicatorRow:
    ratio: float | None = None
    applicable = True
    if cell.b is not None:
        applicable = cell.b > 0
        ratio = cell.a / cell.b if applicable else None
    points = None
    if ratio is not None and definition.max_points is not None:
        points = round(min(ratio, 1.0) * definition.max_points, 4)
    return IndicatorRow(
        indicator=definition.id,
        name_vi=definition.name_vi,
        name_en=definition.name_en,
        unit=unit.code if unit is not None else None,
        unit_name=unit.name if unit is not None else None,
        level=level,
        period=label,
        a=_number(cell.a),
        b=_number(cell.b) if cell.b is not None else None,
        ratio=ratio,
        applicable=applicable,
        measure=definition.measure,
        framework=definition.framework,
        max_points=definition.max_points,
        points=points,
        source=definition.source,
        evidence_a=cell.evidence_a,
        evidence_b=cell.evidence_b,
    )


def _number(value: float) -> float:
    """Keep whole numbers whole (3, not 3.0) in JSON and CSV."""
    return int(value) if float(value).is_integer() else value
