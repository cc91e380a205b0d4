"""Outage and indicator queries shared by the HTTP API and the CLI (`netmon outages list`).

One rule for which outages a filter selects and one JSON row shape, so the two never drift
(issue 11: outage querying was written twice). Pure: the caller reads the records (a worker
thread in the daemon, the CLI's own store) and the unit of each object (`Topology.unit_of`).
`select_indicators` is the one filter of indicator rows by unit and indicator (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from netmon.indicators.row import IndicatorRow
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.monitor.outages import OutageRecord

__all__ = ["WindowsAt", "outage_json", "select_indicators", "select_outages"]


def select_outages(
    records: Iterable[OutageRecord],
    unit_of: Mapping[tuple[str, str], str],
    *,
    units: set[str] | None = None,
    cause: str | None = None,
    kind: str | None = None,
) -> list[tuple[OutageRecord, str | None]]:
    """Return (record, unit code) for the records of objects in *units* (None: all) with *cause* and *kind*."""
    chosen = []
    for record in records:
        unit = unit_of.get((record.kind, record.name))
        if units is not None and unit not in units:
            continue
        if cause not in (None, record.cause) or kind not in (None, record.kind):
            continue
        chosen.append((record, unit))
    return chosen


def outage_json(record: OutageRecord, unit: str | None) -> dict[str, Any]:
    """Return one outage as the API and `--json` give it: the record, its unit and its duration (s, None while open)."""
    return {**record.to_dict(), "unit": unit, "duration_seconds": record.duration}


def select_indicators(
    rows: Iterable[IndicatorRow], *, units: set[str] | None = None, indicator: str | None = None
) -> list[IndicatorRow]:
    """Return the rows of units in *units* (None: all, roll-ups included; a set: no roll-ups) for *indicator*."""
    return [row for row in rows if (units is None or row.unit in units) and indicator in (None, row.indicator)]


class WindowsAt:
    """The known windows (config, and API ones not deleted) that put an object in maintenance at an instant.

    Takes a snapshot of *schedule*'s windows (on the event loop); `covering` may then run in a worker thread.
    """

    def __init__(self, schedule: MaintenanceSchedule, windows: Sequence[Window] | None = None) -> None:
        self._schedule = schedule
        self._windows = list(schedule.windows() if windows is None else windows)
        self._covered: list[tuple[Window, frozenset[tuple[str, str]]]] | None = None

    def covering(self, record: OutageRecord) -> list[dict[str, Any]]:
        """Return id, name, author and reason of each window covering *record*'s object when it began."""
        if self._covered is None:  # resolved once per query, and only when a maintenance outage is listed
            self._covered = [(w, self._schedule.check(w)) for w in self._windows]
        zone = self._schedule.zone
        return [
            {"id": w.id, "name": w.name, "author": w.author, "reason": w.reason}
            for w, keys in self._covered
            if (record.kind, record.name) in keys and w.active(record.started_at, zone)
        ]
