"""Outage queries shared by the HTTP API (`/api/v1/outages`) and the CLI (`netmon outages list`).

One rule for which outages a filter selects and one JSON row shape, so the two never drift
(issue 11: outage querying was written twice). Pure: the caller reads the records (a worker
thread in the daemon, the CLI's own store) and the unit of each object (`Topology.unit_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from netmon.monitor.outages import OutageRecord

__all__ = ["outage_json", "select_outages"]


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
