"""Counter arithmetic: rates across 32/64-bit wraps, agent restarts and ifIndex renumbering.

Pure functions and a small keyed memory; no I/O. Rates are computed over the agent's own
clock (sysUpTime, in hundredths of a second), which is what the counters are sampled on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netmon.pollers.base import InterfaceRow
from netmon.pollers.ifmib import interface_ids

__all__ = [
    "UPTIME_WRAP",
    "CounterReading",
    "InterfaceCounters",
    "RateMemory",
    "counter_delta",
    "elapsed_seconds",
    "interface_counters",
    "rate",
]

#: The IF-MIB counters netmon turns into rates.
COUNTERS = ("in_octets", "out_octets", "in_errors", "out_errors", "in_discards", "out_discards")

#: sysUpTime is a TimeTicks (32-bit, hundredths of a second): it wraps after ~497 days.
UPTIME_WRAP = 2**32

#: How far wall-clock and agent-clock elapsed times may disagree before an apparent uptime
#: wrap is judged a restart instead (seconds).
_CLOCK_SLACK = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class CounterReading:
    """One reading of a counter: its value, its width, and the agent and wall clocks."""

    value: int
    bits: int
    uptime: int
    wall: float


#: The IF-MIB counters that are Counter32 on every agent (RFC 2863 has no 64-bit errors or discards).
_ALWAYS_32 = frozenset(("in_errors", "out_errors", "in_discards", "out_discards"))


def counter_delta(previous: int, current: int, bits: int) -> int:
    """Return how much a counter of *bits* width advanced, assuming at most one wrap."""
    if current >= previous:
        return current - previous
    return current + (1 << bits) - previous


def _wrap_plausible(previous: int, current: int, bits: int) -> bool:
    """Tell whether a counter that went from *previous* to *current* can have wrapped once.

    A 32-bit counter wraps in 34 s at 1 Gbit/s, so any fall may be a wrap (the rate ceiling
    judges it). A Counter64 "is used for counters that wrap in less than one hour with 32 bits"
    (RFC 2578 7.1.10) and takes 46 years at 100 Gbit/s to wrap: a fall that would mean more than
    2^63 octets counted since the last poll is the agent starting the counter again (ifTable
    re-initialised, counters cleared) without a sysUpTime reset, not traffic.
    """
    return bits < 64 or current >= previous or counter_delta(previous, current, bits) <= 1 << (bits - 1)


def elapsed_seconds(previous: CounterReading, current: CounterReading) -> float | None:
    """Return agent-clock seconds between two readings, or None when the agent restarted."""
    if current.uptime >= previous.uptime:
        return (current.uptime - previous.uptime) / 100
    wrapped = (current.uptime + UPTIME_WRAP - previous.uptime) / 100
    if abs(wrapped - (current.wall - previous.wall)) <= _CLOCK_SLACK:
        return wrapped  # sysUpTime itself wrapped after ~497 days
    return None  # sysUpTime went backwards: the agent restarted, counters began again


def rate(previous: CounterReading, current: CounterReading, *, ceiling: float | None = None) -> float | None:
    """Return the per-second rate between two readings, or None when there is none to give.

    None on an agent restart, on a change of counter width, on a zero interval, on a 64-bit
    counter that fell (`_wrap_plausible`), and when the rate exceeds *ceiling* (e.g. the
    interface speed in octets/s): a counter reset or a discontinuity, not traffic.
    """
    if previous.bits != current.bits or not _wrap_plausible(previous.value, current.value, current.bits):
        return None
    seconds = elapsed_seconds(previous, current)
    if not seconds:
        return None
    per_second = counter_delta(previous.value, current.value, current.bits) / seconds
    if ceiling is not None and per_second > ceiling * 1.05:
        return None
    return per_second


@dataclass(frozen=True, kw_only=True, slots=True)
class InterfaceCounters:
    """The counters of one interface in one poll, keyed by ifName rather than ifIndex."""

    name: str
    bits: int
    values: Mapping[str, int]
    speed_bps: int | None = None


def interface_counters(rows: Iterable[InterfaceRow]) -> list[InterfaceCounters]:
    """Key each interface's counters by its identity (`netmon.pollers.ifmib.interface_ids`).

    That is its ifName where unique on the device, so that ifIndex renumbering keeps the
    history; else ``name#ifIndex``. Each interface keeps its own counter width (`bits`).
    """
    rows = list(rows)
    ids = interface_ids(rows)
    return [
        InterfaceCounters(
            name=ids[row.if_index],
            bits=row.counter_bits,
            values={c: v for c in COUNTERS if (v := getattr(row, c)) is not None},
            speed_bps=row.speed_bps,
        )
        for row in rows
    ]


class RateMemory:
    """Remembers the last reading per (device, ifName, counter) and turns new readings into rates."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], CounterReading] = {}

    def update(
        self, device: str, uptime: int, wall: float, interfaces: Iterable[InterfaceCounters]
    ) -> dict[str, dict[str, float | None]]:
        """Store this poll's readings; return rates per ifName and counter (None where there is none)."""
        rates: dict[str, dict[str, float | None]] = {}
        for interface in interfaces:
            ceiling = interface.speed_bps / 8 if interface.speed_bps else None
            out = rates.setdefault(interface.name, {})
            for counter, value in interface.values.items():
                bits = 32 if counter in _ALWAYS_32 else interface.bits  # the HC width is the octets' only
                reading = CounterReading(value=value, bits=bits, uptime=uptime, wall=wall)
                key = (device, interface.name, counter)
                previous = self._last.get(key)
                self._last[key] = reading
                octets = counter.endswith("octets")
                out[counter] = rate(previous, reading, ceiling=ceiling if octets else None) if previous else None
        return rates

    def forget(self, device: str) -> None:
        """Drop the history of a device that left the inventory."""
        for key in [k for k in self._last if k[0] == device]:
            del self._last[key]
