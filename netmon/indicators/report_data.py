"""What the PDF report shows, computed apart from the drawing so that tests can check the charts' data.

Shapes: ratios are floats in 0..1 (None when not applicable), durations in hours, months as
``YYYY-MM`` labels in the configured timezone. Coverage services are the DTI "units with ..."
indicators (Decision 405/QĐ-BKHCN of 3 April 2025 asks for the share of units with LAN,
Internet, WAN/MAN, the specialised network TSLCD and video conferencing).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from netmon.indicators.definitions import Catalog
from netmon.indicators.period import Period, parse_period
from netmon.indicators.row import ALL_LEVELS, IndicatorRow
from netmon.monitor.outages import OutageRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from netmon.inventory.kinds import Level
    from netmon.inventory.spec import Inventory

__all__ = ["COVERAGE", "LINK_AVAILABILITY", "ReportData", "collect", "months_of"]

#: Coverage services: indicator id -> chart label (Vietnamese / English).
COVERAGE = {
    "lan_units": "LAN",
    "internet_units": "Internet",
    "wan_units": "WAN/MAN",
    "tslcd_units": "TSLCD",
    "vc_units": "Hội nghị truyền hình / VC",
}
#: Link availability per kind: indicator id -> link kind.
LINK_AVAILABILITY = {
    "link_availability_lan": "LAN",
    "link_availability_internet": "Internet",
    "link_availability_wan": "WAN/MAN",
    "link_availability_tslcd": "TSLCD",
}


@dataclass(frozen=True, kw_only=True)
class ReportData:
    """Everything the report draws: the period's rows, per-month roll-ups and the period's outages."""

    province: str
    period: Period
    level: str | None
    rows: tuple[IndicatorRow, ...]
    months: tuple[tuple[str, tuple[IndicatorRow, ...]], ...]
    outages: tuple[OutageRecord, ...]
    catalog: Catalog
    generated_at: datetime

    @property
    def rollups(self) -> list[IndicatorRow]:
        """Return the roll-up rows (one per indicator and level), in catalog order."""
        return [row for row in self.rows if row.rollup]

    def coverage(self) -> dict[str, dict[str, list[float | None]]]:
        """Return service label -> level -> ratio per month (in `months` order).

        Coverage counts units at a time, so a month split into parts (a reorganisation or a move in
        it) shows its last part: the structure in force at the month's end. The export has each part.
        """
        series: dict[str, dict[str, list[float | None]]] = {label: defaultdict(list) for label in COVERAGE.values()}
        for _, rows in self.months:
            last = {(r.indicator, r.level): r.part for r in rows if r.rollup}  # parts come in time order
            by_key = {
                (r.indicator, r.level): r.ratio
                for r in rows
                if r.rollup and r.level != ALL_LEVELS and r.part == last[(r.indicator, r.level)]
            }
            levels = sorted({level for _, level in by_key})
            for indicator, label in COVERAGE.items():
                for level in levels:
                    series[label][level].append(by_key.get((indicator, level)))
        return {label: dict(levels) for label, levels in series.items()}

    @property
    def top(self) -> str:
        """Return the level of the roll-ups that sum up the report: the chosen level, else `all`."""
        return self.level or ALL_LEVELS

    @property
    def parts(self) -> list[str]:
        """Return the parts the period is split into (docs/indicators.md), in order; [] when it is whole."""
        return list(dict.fromkeys(row.part for row in self.rows if row.part))

    def link_availability(self) -> dict[str, float | None]:
        """Return link kind -> availability over the period, rolled up over the report's level (`top`).

        A period split into parts has one roll-up per part: the availability of the period is
        their seconds up over their seconds up + down (Σa / Σb), as over a whole period.
        """
        sums: dict[str, tuple[float, float]] = {}
        for r in self.rows:
            if r.rollup and r.level == self.top and r.indicator in LINK_AVAILABILITY and r.b is not None:
                a, b = sums.get(r.indicator, (0.0, 0.0))
                sums[r.indicator] = (a + r.a, b + r.b)
        ratios = {indicator: a / b for indicator, (a, b) in sums.items() if b > 0}
        return {label: ratios.get(indicator) for indicator, label in LINK_AVAILABILITY.items()}

    def worst_units(self, count: int = 10) -> list[tuple[str, str, float]]:
        """Return the *count* units with the lowest share of their points, lowest first.

        A unit's score is the sum of its points over the sum of the maximum points of its
        applicable scored indicators (0..1); units with no scored indicator are left out.
        """
        points: dict[str, float] = defaultdict(float)
        maximum: dict[str, float] = defaultdict(float)
        names: dict[str, str] = {}
        for row in self.rows:
            if row.unit is None or row.points is None or not row.max_points:
                continue
            points[row.unit] += row.points
            maximum[row.unit] += row.max_points
            names[row.unit] = row.unit_name or row.unit
        scores = sorted((points[u] / maximum[u], u) for u in maximum)
        return [(unit, names[unit], score) for score, unit in scores[:count]]

    def outages_by_cause(self) -> dict[str, tuple[int, float]]:
        """Return cause -> (outages, hours within the period); open outages count up to the period's end."""
        counts: Counter[str] = Counter()
        hours: dict[str, float] = defaultdict(float)
        for outage in self.outages:
            start = max(outage.started_at, self.period.start)
            end = min(outage.ended_at or self.period.end, self.period.end)
            counts[outage.cause] += 1
            hours[outage.cause] += max((end - start).total_seconds(), 0.0) / 3600
        return {cause: (counts[cause], hours[cause]) for cause in sorted(counts)}


def months_of(period: Period, zone: ZoneInfo) -> list[str]:
    """Return the ``YYYY-MM`` months a period covers (local time), up to its (clipped) end; [] when live."""
    if period.live:
        return []
    start, end = period.start.astimezone(zone), period.end.astimezone(zone)
    year, month = start.year, start.month
    labels: list[str] = []
    while (year, month) <= (end.year, end.month) and len(labels) < 12:
        if (year, month) == (end.year, end.month) and end == end.replace(day=1, hour=0, minute=0, second=0) and labels:
            break  # a period ending at a month's first instant does not cover that month
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def collect(
    engine: Engine,
    inventory: Inventory,
    period: Period,
    *,
    level: Level | None,
    zone: ZoneInfo,
    now: datetime,
    catalog: Catalog,
) -> ReportData:
    """Compute the period's rows, each month's roll-ups and the outages that overlap the period.

    With a *level*, the outages are those of objects in that level's units (`_level_of`).

    Raises:
        StoreError: the database cannot be read (from `compute` and the outage ledger).

    """
    from netmon.indicators.compute import compute  # noqa: PLC0415 (SQLAlchemy only when a report is made)
    from netmon.monitor.outages import OutageLedger  # noqa: PLC0415

    rows = compute(engine, inventory, period, level=level, zone=zone, now=now, definitions=catalog)
    months = []
    for label in months_of(period, zone):
        month = parse_period(label, zone, now)
        month_rows = compute(engine, inventory, month, level=level, zone=zone, now=now, definitions=catalog)
        months.append((label, tuple(r for r in month_rows if r.rollup)))
    outages = tuple(
        o
        for o in OutageLedger(engine).outages(since=period.start)
        if (period.live or o.started_at < period.end)
        and (level is None or _level_of(o, inventory, zone, since=period.start) is level)
    )
    # the province in force on the period's last day: a merged province (valid_to, successor) is not named
    last = (
        (period.end - timedelta(microseconds=1)).astimezone(zone).date()
        if not period.live
        else now.astimezone(zone).date()
    )
    roots = [u for u in inventory.units.values() if u.parent is None and u.in_force(last)]
    province = roots[0].name if len(roots) == 1 else "—"
    return ReportData(
        province=province,
        period=period,
        level=level.value if level is not None else None,
        rows=tuple(rows),
        months=tuple(months),
        outages=outages,
        catalog=catalog,
        generated_at=now,
    )


def _level_of(outage: OutageRecord, inventory: Inventory, zone: ZoneInfo, *, since: datetime) -> Level | None:
    """Return the level of the unit the outage's object belonged to in the period; None if it is not in the inventory.

    The day that counts is the outage's start, or the period's (*since*) for an outage that began
    before it. A device or link that moved belongs to its previous_unit before moved_on (`unit_on`),
    as in the indicators: a router moved from a district to a commune on 2025-07-01 and down across
    that day is the commune's in a report of 2025-Q3.
    """
    from netmon.inventory.spec import unit_on  # noqa: PLC0415 (spec loads pydantic models)

    day = max(outage.started_at, since).astimezone(zone).date()
    if outage.kind == "service":
        service = inventory.services.get(outage.name)
        code = service.unit if service is not None else None
    else:
        spec = inventory.devices.get(outage.name) if outage.kind == "device" else inventory.links.get(outage.name)
        code = unit_on(spec, day) if spec is not None else None
    unit = inventory.units.get(code) if code is not None else None
    return unit.level if unit is not None else None


def evidence_lines(rows: Sequence[IndicatorRow], limit: int = 12) -> list[str]:
    """Return one line per roll-up row and term: what was counted (at most *limit* items, then a count)."""
    lines = []
    for row in rows:
        for term, items in (("a", row.evidence_a), ("b", row.evidence_b)):
            if not items:
                continue
            shown = ", ".join(items[:limit]) + (f" … (+{len(items) - limit})" if len(items) > limit else "")
            where = f"{row.level} {row.part}" if row.part else row.level
            lines.append(f"{row.indicator} [{where}] {term}: {shown}")
    return lines
