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
    - ``evidence_a`` / ``evidence_b`` name what was counted in a and in b ("device:NAME ...").
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

    @property
    def rollup(self) -> bool:
        """Tell whether this row rolls up a level rather than describing one unit."""
        return self.unit is None

    @property
    def label(self) -> str:
        """Return the unit code, or `level:<level>` for a roll-up (the gauges' `unit` label)."""
        return self.unit if self.unit is not None else f"level:{self.level}"
