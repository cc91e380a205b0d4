"""Reporting periods: a year, a quarter, a month (local calendar of the configured zone) or live."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from netmon.errors import PeriodError

__all__ = ["Period", "PeriodKind", "parse_period"]

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_EXPECTED = "expected YYYY, YYYY-Qn, YYYY-MM or live (e.g. 2026, 2026-Q3, 2026-09)"


class PeriodKind(enum.StrEnum):
    """How long a period is."""

    LIVE = "live"
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


@dataclass(frozen=True, kw_only=True)
class Period:
    """A reporting period: local calendar bounds as UTC instants, the end clipped to *now*.

    A live period has start == end == now. `complete` is False when the period was still
    running at *now* (its end was clipped).
    """

    label: str
    kind: PeriodKind
    start: datetime
    end: datetime
    zone: str
    complete: bool = True

    @property
    def live(self) -> bool:
        """Tell whether this is the live (current state) period."""
        return self.kind is PeriodKind.LIVE

    @property
    def seconds(self) -> float:
        """Return the length of the period in seconds (0 when live)."""
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (instants in ISO 8601, UTC)."""
        return {
            "label": self.label,
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "zone": self.zone,
            "complete": self.complete,
        }


def parse_period(text: str, zone: ZoneInfo, now: datetime) -> Period:
    """Parse 2026, 2026-Q3, 2026-09 or live into a Period in *zone*; raise PeriodError."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    raw = text.strip()
    now = now.astimezone(UTC)
    if raw.lower() == "live":
        return Period(label="live", kind=PeriodKind.LIVE, start=now, end=now, zone=zone.key)
    if match := _YEAR.match(raw):
        year = _year(raw, match)
        label, kind, first, last = f"{year}", PeriodKind.YEAR, (year, 1), (year + 1, 1)
    elif match := _QUARTER.match(raw):
        year, quarter = _year(raw, match), int(match.group(2))
        first = (year, 3 * quarter - 2)
        last = (year + 1, 1) if quarter == 4 else (year, 3 * quarter + 1)
        label, kind = f"{year}-Q{quarter}", PeriodKind.QUARTER
    elif match := _MONTH.match(raw):
        year, month = _year(raw, match), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"bad period {text!r}: month {month:02d} is not 01..12")
        first, last = (year, month), (year + 1, 1) if month == 12 else (year, month + 1)
        label, kind = f"{year}-{month:02d}", PeriodKind.MONTH
    else:
        raise PeriodError(f"bad period {text!r}: {_EXPECTED}")
    start = datetime(*first, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(*last, 1, tzinfo=zone).astimezone(UTC)
    if start >= now:
        raise PeriodError(
            f"period {label!r} has not begun yet (it starts {start.astimezone(zone):%Y-%m-%d} {zone.key})"
        )
    return Period(label=label, kind=kind, start=start, end=min(end, now), zone=zone.key, complete=end <= now)


def _year(text: str, match: re.Match[str]) -> int:
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        raise PeriodError(f"bad period {text!r}: year {year} is outside 2000..2100")
    return year
