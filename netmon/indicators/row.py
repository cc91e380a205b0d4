"""The indicator row: the contract shared by the exports, the API and the gauges."""

from __future__ import annotations

from dataclasses import dataclass

from netmon.kernel import ValueObject

__all__ = ["ALL_LEVELS", "SOURCES", "IndicatorRow"]

#: The `level` of the roll-up over every level of the province.
ALL_LEVELS = "all"

#: The data sources a row may name.
SOURCES = ("live monitoring", "declared inventory")


@dataclass(frozen=True, kw_only=True)
class IndicatorRow(ValueObject):
    """One indicator for one unit, or rolled up over one level (``unit`` None), for one period.

    - ``a`` numerator, ``b`` denominator (None for a plain count), ``ratio`` = a / b;
    - ``applicable`` is False when b = 0: then ratio and points are None (never 0 % or 100 %);
    - ``points`` = min(ratio, 1) * ``max_points`` (None without max points or when not applicable);
    - ``evidence_a`` / ``evidence_b`` name what was counted in a and in b ("device:NAME ...");
    - ``part``: when the period spans a reorganisation it is split at the change dates, and each
      part (local days, inclusive: "2025-01-01..2025-06-30") is computed in the structure in
      force then; "" when the period is whole;
    - ``no_data``: the unit's objects had no up/down time in the period (netmon was not running, or
      they did not exist yet): not 0 %, left out of a and b of the roll-up; ``note`` says why;
    - ``declared``: for a coverage indicator, 1/0 (a roll-up: the sum) when the inventory declares
      such a connection, beside ``a`` that counts it only when verified by monitoring;
    - ``reference``: the framework text the indicator serves (e.g. DTI 2025, 405/QĐ-BKHCN).
    """

    indicator: str
    name_vi: str
    name_en: str
    unit: str | None
    unit_name: str | None
    level: str
    period: str
    a: float
    b: float | None
    ratio: float | None
    applicable: bool
    measure: str
    framework: str
    max_points: float | None
    points: float | None
    source: str
    evidence_a: tuple[str, ...] = ()
    evidence_b: tuple[str, ...] = ()
    part: str = ""
    no_data: bool = False
    note: str = ""
    declared: float | None = None
    reference: str = ""

    @property
    def rollup(self) -> bool:
        """Tell whether this row rolls up a level rather than describing one unit."""
        return self.unit is None

    @property
    def label(self) -> str:
        """Return the unit code, or `level:<level>` for a roll-up (the gauges' `unit` label)."""
        return self.unit if self.unit is not None else f"level:{self.level}"
