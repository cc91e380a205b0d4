"""Read a device's interfaces by GET at the ifIndexes its last walk found, and know when to walk again.

Walking twelve IF-MIB columns costs twelve GETBULK round trips even on a 4-port router; the
agent answers the same cells by GET in one. So the interface poll walks once, keeps the cells it
found (`IndexPlan`: which ifIndexes each column had), and in later polls GETs exactly those cells,
packed into as few requests as fit `BUDGET` bytes of reply. This is the index cache that poll
engines use against large fleets; its rules here:

- **Which cells.** The plan is the exact set of (column, ifIndex) cells the walk returned, so a
  GET answered in full assembles the same rows (`netmon.pollers.ifmib.interface_rows`) as a walk
  would at that moment.
- **When to walk instead** (`IndexPlan.stale`, `IndexPlan.read`):
  - ifNumber (1.3.6.1.2.1.2.1.0, RFC 2863: "the number of network interfaces ... present on
    this system") differs from its value read just before the walk: an interface came or went;
  - sysUpTime went backwards: the agent restarted, and ifIndexes may be renumbered (RFC 2863
    3.1.5 allows it at re-initialization);
  - any planned cell is missing from the reply (noSuchInstance): the table changed;
  - the plan is older than `REFRESH` plus a per-device share of `JITTER` (so that a fleet
    walked together at start-up spreads its next walks over rounds). A row removed shows as a
    missing cell and a row added as a new ifNumber, so this only matters for an agent whose
    ifNumber is wrong (constant); hence an hour or two, about 1 % of a fleet's polls at 60 s;
  - a walk that was cut short (a limit, OID not increasing) makes no plan: such an agent is
    walked every time, and its notes stay in the sample.
- **Reply size.** A cell's reply size is estimated from its OID and the longest value its
  column had; a request carries cells up to the plan's ``budget`` of reply bytes: at first
  `BUDGET` on v2c and `BUDGET_V3` (its header is ~200 bytes longer) on v3, so that a reply
  stays within the 1,472-byte message net-snmp and many agents default to, and within one
  Ethernet frame: a fragmented datagram is dropped by many firewalls between networks. An
  agent may still refuse a GET that large (RFC 3416 4.2.1 tooBig): a GET that fails (tooBig,
  which gufo gives as a reply without varbinds; a reply cut at the receive buffer; no reply)
  halves the budget, and the poll walks. Below `FLOOR` the plan is marked ``by_get=False``: that
  device is walked, as before, until its plan's refresh age. So is one whose GETs saw a change
  that the walk after them does not.
- **Not used** on SNMPv1 (one missing OID fails the whole PDU with noSuchName, RFC 1157 4.1.2).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from gufo.snmp import ValueType

__all__ = ["BUDGET", "BUDGET_V3", "FLOOR", "IF_NUMBER", "JITTER", "REFRESH", "IndexPlan", "plan_from_walk"]

IF_NUMBER = "1.3.6.1.2.1.2.1.0"
#: Seconds after a walk before a poll walks again, plus up to `JITTER` seconds by device.
REFRESH = 3_600.0
JITTER = 3_600.0
#: Estimated reply bytes per GET request at first (varbinds only; the message header is not counted).
BUDGET = 1_350
BUDGET_V3 = 1_200
#: The smallest budget tried after failures: a little under the 484-byte message every agent
#: must accept (RFC 3416 3), then the device is walked.
FLOOR = 400

_VARBIND_OVERHEAD = 6  # SEQUENCE, OID and value tags and lengths
_INTEGER_BYTES = 9  # a Counter64 at most
_SHORT_LENGTH = 127  # BER: a longer value takes a longer length


def _value_bytes(value: ValueType) -> int:
    if isinstance(value, (bytes, str)):
        return len(value) + (2 if len(value) > _SHORT_LENGTH else 0)
    return _INTEGER_BYTES


def _cost(oid: str, size: int) -> int:
    return len(oid) // 2 + _VARBIND_OVERHEAD + size  # a sub-identifier under 128 is one byte and a dot


@dataclass(frozen=True, kw_only=True, slots=True)
class IndexPlan:
    """The cells a device's last complete walk found, and what it was read against.

    ``cells`` is ``((name, column OID, ifIndexes, estimated value bytes), ...)``; ``if_number``
    and ``uptime`` are ifNumber.0 and sysUpTime.0 (hundredths of a second) around the walk (None
    when the agent has none); ``walked`` and ``refresh`` are monotonic-clock seconds.
    """

    address: str
    profile: str
    cells: tuple[tuple[str, str, tuple[int, ...], int], ...]
    if_number: int | None
    uptime: int | None
    walked: float
    refresh: float
    #: Estimated reply bytes per request, and the cell positions (counted over ``cells`` in
    #: order) where a new request starts.
    budget: int = BUDGET
    cuts: tuple[int, ...] = ()
    #: False after a GET failed, or disagreed with the walk that followed it: walk until its refresh age.
    by_get: bool = True
    #: A GET reply lacked a planned cell or had another ifNumber: the next poll walks and compares.
    mismatched: bool = False

    def shrunk(self) -> IndexPlan:
        """Return the plan after a failed GET: half the budget (cut anew); below `FLOOR`, walked until its refresh."""
        budget = self.budget // 2
        return replace(self, budget=budget, cuts=_cuts(self.cells, budget), by_get=budget >= FLOOR)

    def current(self, *, address: str, profile: str, now: float) -> bool:
        """Tell whether the plan is of this address and profile, and younger than its refresh age."""
        return (self.address, self.profile) == (address, profile) and now - self.walked < self.refresh

    def stale(self, *, address: str, profile: str, uptime: int | None, now: float) -> bool:
        """Tell whether the next poll must walk: GET unusable, another address or profile, a restart, or age."""
        if not self.by_get or self.mismatched or not self.current(address=address, profile=profile, now=now):
            return True
        return uptime is not None and self.uptime is not None and uptime < self.uptime

    def requests(self) -> Iterator[list[tuple[str, int, str]]]:
        """Yield the GET requests: lists of (column name, ifIndex, OID), the first led by ifNumber.0 (name "").

        Cut where `plan_from_walk` measured (`cuts`): each request's estimated reply stays within
        ``budget`` bytes, with at least one cell.
        """
        batch: list[tuple[str, int, str]] = [("", 0, IF_NUMBER)]
        cuts = iter(self.cuts)
        cut = next(cuts, -1)
        position = 0  # cells before this column
        for name, column, indexes, _ in self.cells:
            prefix = column + "."
            start = 0
            while cut != -1 and cut < position + len(indexes):
                end = cut - position
                batch.extend((name, index, f"{prefix}{index}") for index in indexes[start:end])
                yield batch
                batch, start, cut = [], end, next(cuts, -1)
            batch.extend((name, index, f"{prefix}{index}") for index in indexes[start:])
            position += len(indexes)
        if batch:
            yield batch

    def columns(self) -> dict[str, dict[int, ValueType]]:
        """Return an empty column per planned name, for `read` to fill."""
        return {name: {} for name, _, _, _ in self.cells}

    def read(
        self, request: list[tuple[str, int, str]], got: Mapping[str, ValueType], into: dict[str, dict[int, ValueType]]
    ) -> bool:
        """Put one GET reply's cells *into* the columns; False when the device must be walked instead.

        *got* is the agent's answer to *request* (OID: value, missing objects left out, as gufo's
        ``get_many``). False when ifNumber.0 differs from the walk's or a planned cell is missing.
        """
        for name, index, oid in request:
            if not name:  # ifNumber.0; None when the agent has none
                if got.get(oid) != self.if_number:
                    return False
            elif oid in got:
                into[name][index] = got[oid]
            else:
                return False
        return True


def plan_from_walk(
    columns: Mapping[str, Mapping[int, ValueType]],
    oids: Mapping[str, str],
    *,
    device: str,
    address: str,
    profile: str,
    if_number: ValueType,
    uptime: int | None,
    now: float,
    budget: int = BUDGET,
) -> IndexPlan:
    """Make the plan of a complete walk: *columns* by name (as read), *oids* the column OID of each name.

    The refresh age is `REFRESH` plus a share of `JITTER` fixed by *device* (CRC-32), so that a
    fleet walked together at start-up spreads its next walks over an hour.
    """
    interned: dict[tuple[int, ...], tuple[int, ...]] = {}
    cells = []
    for name, rows in columns.items():
        if not rows:
            continue
        indexes = tuple(sorted(rows))
        indexes = interned.setdefault(indexes, indexes)
        size = max(_value_bytes(value) for value in rows.values())
        cells.append((name, oids[name], indexes, size))
    jitter = JITTER * (zlib.crc32(device.encode()) % 1000) / 1000
    return IndexPlan(
        address=address,
        profile=profile,
        cells=tuple(cells),
        budget=budget,
        cuts=_cuts(cells, budget),
        if_number=if_number if isinstance(if_number, int) else None,
        uptime=uptime,
        walked=now,
        refresh=REFRESH + jitter,
    )


def _cuts(cells: Iterable[tuple[str, str, tuple[int, ...], int]], budget: int) -> tuple[int, ...]:
    """Return where requests start, so that each one's estimated reply stays within *budget* bytes."""
    cuts = []
    used, position = _cost(IF_NUMBER, _INTEGER_BYTES), 0
    for _, column, indexes, size in cells:
        for index in indexes:
            cost = _cost(f"{column}.{index}", size)
            if used and used + cost > budget:
                cuts.append(position)
                used = 0
            used += cost
            position += 1
    return tuple(cuts)
