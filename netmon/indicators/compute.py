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
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from netmon.indicators.definitions import Catalog, Definition
from netmon.indicators.evaluate import Facts, ObjectKey, UnitIndex
from netmon.indicators.period import Period, parse_period
from netmon.indicators.row import ALL_LEVELS, IndicatorRow
from netmon.indicators.structure import in_force, split
from netmon.inventory.models import Level, StateChange, metadata
from netmon.inventory.schema import transaction
from netmon.inventory.spec import Inventory, UnitSpec
from netmon.monitor.availability import StateSeconds, object_seconds
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State

__all__ = ["NO_DATA", "LiveRows", "compute", "first_sample", "live_rows", "period_rows"]

_HISTORY = metadata.tables[StateChange.__tablename__]


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
        return live_rows(inventory, states, definitions, level=level, today=now.astimezone(zone).date())
    rows: list[IndicatorRow] = []
    for part in split(period, inventory):
        with transaction(engine, "indicators: state history") as conn:
            # UTC bounds: SQLite stores instants as naive UTC text and compares them as text.
            seconds = object_seconds(conn, part.start.astimezone(UTC), part.end.astimezone(UTC))
        structure = in_force(inventory, part.first_day)
        rows += period_rows(structure, seconds, definitions, period, level=level, part=part.label)
    return rows


def first_sample(engine: Engine) -> datetime | None:
    """Return when monitoring recorded its first state change (UTC), or None when it never ran."""
    with transaction(engine, "indicators: first sample") as conn:
        first: datetime | None = conn.execute(sa.select(sa.func.min(_HISTORY.c.ts))).scalar()
    if first is None:
        return None
    return first if first.tzinfo is not None else first.replace(tzinfo=UTC)


def live_rows(
    inventory: Inventory,
    states: Mapping[ObjectKey, State],
    definitions: Catalog,
    *,
    level: Level | None = None,
    today: date | None = None,
) -> list[IndicatorRow]:
    """Compute the live rows from each object's current state ((kind, name) -> State); no I/O.

    The rows use the structure in force on *today* (a local date; default: today in UTC), so
    that a unit that has merged or been abolished is not reported live.
    """
    structure = in_force(inventory, today or datetime.now(UTC).date())
    return _rows(structure, Facts(live=True, states=states), definitions, _Context(label="live"), level)


@dataclass(frozen=True, eq=False)
class LiveRows:
    """`live_rows` of every level, kept with what they were computed from, to be served again while that holds.

    The indicator loop keeps one after each computation (`Runtime.live_rows`); the API's live
    indicators reuse it while the inventory, definitions, day and states are those it was
    computed from (`holds`), instead of computing them again in a worker thread (issue 12).
    """

    inventory: Inventory
    definitions: Catalog
    today: date
    states: Mapping[ObjectKey, State]
    rows: list[IndicatorRow]

    def holds(self, inventory: Inventory, definitions: Catalog, today: date, states: Mapping[ObjectKey, State]) -> bool:
        """Tell whether `live_rows` of these inputs would give these rows (same objects, equal day and states)."""
        return (
            self.inventory is inventory
            and self.definitions is definitions
            and self.today == today
            and self.states == states
        )

    def of_level(self, level: Level | None) -> list[IndicatorRow]:
        """Return what `live_rows(..., level=level)` returns: every row for None, else the level's (units and total)."""
        if level is None:
            return self.rows
        return [row for row in self.rows if row.level == level.value]


def period_rows(
    inventory: Inventory,
    seconds: Mapping[ObjectKey, StateSeconds],
    definitions: Catalog,
    period: Period,
    *,
    level: Level | None = None,
    part: str = "",
) -> list[IndicatorRow]:
    """Compute the rows of *period* (or of one *part* of it) from the seconds each object spent in each state; no I/O.

    *inventory* is the structure in force in that period or part (structure.in_force).
    """
    year = period.start.astimezone(ZoneInfo(period.zone)).year
    context = _Context(label=period.label, part=part, year=year)
    return _rows(inventory, Facts(live=False, seconds=seconds), definitions, context, level)


@dataclass(frozen=True)
class _Context:
    label: str
    part: str = ""
    year: int | None = None


@dataclass
class _Sum:
    """a and b summed over units, with their evidence, the declared count and the units without data."""

    a: float = 0
    b: float | None = None
    evidence_a: tuple[str, ...] = ()
    evidence_b: tuple[str, ...] = ()
    declared: float | None = None
    no_data: tuple[str, ...] = ()
    why: str = ""

    def add(self, other: _Sum) -> None:
        if other.declared is not None:
            self.declared = (self.declared or 0) + other.declared
        self.no_data += other.no_data
        if other.why:
            return  # a unit without data is left out of a and b
        self.a += other.a
        if other.b is not None:
            self.b = (self.b or 0) + other.b
        self.evidence_a += other.evidence_a
        self.evidence_b += other.evidence_b


def _rows(
    inventory: Inventory, facts: Facts, catalog: Catalog, context: _Context, only: Level | None
) -> list[IndicatorRow]:
    index = UnitIndex(inventory)
    rows: list[IndicatorRow] = []
    for definition in catalog:
        levels = [lvl for lvl in Level if lvl in definition.levels and only in (None, lvl)]
        start = None if definition.formula.denominator is None else 0
        declared_start = None if definition.declared is None else 0
        everything = _Sum(b=start, declared=declared_start)
        for lvl in levels:
            total = _Sum(b=start, declared=declared_start)
            for unit in inventory.units.values():
                if unit.level is not lvl:
                    continue
                cell = _cell(definition, unit, index, facts, catalog)
                total.add(cell)
                rows.append(_row(definition, context, unit, lvl.value, cell))
            everything.add(total)
            rows.append(_row(definition, context, None, lvl.value, total))
        if only is None:
            rows.append(_row(definition, context, None, ALL_LEVELS, everything))
    return rows


def _cell(definition: Definition, unit: UnitSpec, index: UnitIndex, facts: Facts, catalog: Catalog) -> _Sum:
    declared = None
    if definition.declared is not None:
        declared = 1 if index.condition(definition.declared, unit, facts, catalog) is not None else 0
    a = index.quantity(definition.formula.numerator, unit, facts, catalog)
    denominator = definition.formula.denominator
    if denominator is None:
        return _Sum(a=a.value, evidence_a=a.evidence, declared=declared)
    b = index.quantity(denominator, unit, facts, catalog)
    cell = _Sum(a=a.value, b=b.value, evidence_a=a.evidence, evidence_b=b.evidence, declared=declared)
    if not facts.live and definition.source == "live monitoring" and not a.value:
        watched = index.monitored(definition, unit)
        if watched and not any(facts.judged(key) for key in watched):
            names = ", ".join(f"{kind}:{name}" for kind, name in watched)
            why = f"no up/down time in the period for {names} (netmon not running, or not there yet)"
            return _Sum(a=0, b=0, declared=declared, no_data=(unit.code,), why=why)
    return cell


NO_DATA = "không có dữ liệu / no data"


def _row(definition: Definition, context: _Context, unit: UnitSpec | None, level: str, cell: _Sum) -> IndicatorRow:
    ratio: float | None = None
    applicable = True
    if cell.b is not None:
        applicable = cell.b > 0
        ratio = cell.a / cell.b if applicable else None
    max_points = definition.max_points_in(context.year)
    points = None
    if ratio is not None and max_points is not None:
        points = round(min(ratio, 1.0) * max_points, 4)
    no_data = unit is not None and bool(cell.no_data)
    note = ""
    if no_data:
        note = f"{NO_DATA}: {cell.why}; left out of b"
    elif unit is None and cell.no_data:
        note = f"{NO_DATA} for {len(cell.no_data)} unit(s), left out of b: {', '.join(cell.no_data)}"
    return IndicatorRow(
        indicator=definition.id,
        name_vi=definition.name_vi,
        name_en=definition.name_en,
        unit=unit.code if unit is not None else None,
        unit_name=unit.name if unit is not None else None,
        level=level,
        period=context.label,
        a=_number(cell.a),
        b=_number(cell.b) if cell.b is not None else None,
        ratio=ratio,
        applicable=applicable,
        measure=definition.measure,
        framework=definition.framework,
        max_points=max_points,
        points=points,
        source=definition.source,
        evidence_a=cell.evidence_a,
        evidence_b=cell.evidence_b,
        part=context.part,
        no_data=no_data,
        note=note,
        declared=_number(cell.declared) if cell.declared is not None else None,
        reference=definition.reference,
    )


def _number(value: float) -> float:
    """Keep whole numbers whole (3, not 3.0) in JSON and CSV."""
    return int(value) if float(value).is_integer() else value
