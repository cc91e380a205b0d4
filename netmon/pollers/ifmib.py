"""IF-MIB (RFC 2863) interface rows from walked columns: union of tables, names, speed, counter width.

Pure functions, no I/O; `snmp.py` walks, this assembles. The rules (issue 13):

- **Rows.** The union of ifTable and ifXTable rows: an interface only in ifTable (a management
  port with ifDescr "eth0" and no ifName) is kept.
- **Name.** ifName, else ifDescr, else ``ifIndex:N``.
- **Identity.** Names are not unique on real devices (five "ethernet0/0" on one router, a
  Huawei stack's GigabitEthernet2/0/1 twice). An interface is known by its name where that is
  unique on its device (so that history survives ifIndex renumbering), else by ``name#ifIndex``
  (`interface_ids`): the state key, the Prometheus ``interface`` label and the rate memory use it.
- **Enums.** ifAdminStatus 1..3 and ifOperStatus 1..7 (RFC 2863); anything else is unknown (None).
- **Speed.** ifHighSpeed times 10⁶ when ifHighSpeed ≥ 1 and ifSpeed is saturated (4,294,967,295,
  RFC 2863 ifSpeed DESCRIPTION) or absent; else ifSpeed. 0 is 0 (loopbacks, VLANs, down ports).
  A saturated ifSpeed without an ifHighSpeed ≥ 1 (no ifXTable, or ifHighSpeed 0) is unknown: it
  only says "more than 4.29 Gbit/s" ("ifHighSpeed must be used to report the interface's speed").
- **Counter width, per interface.** ifHCInOctets/ifHCOutOctets (64-bit) where that interface has
  them, else ifInOctets/ifOutOctets (32-bit); `InterfaceRow.counter_bits` says which, so that
  `netmon.pollers.counters` wraps each at its own width.
- **HC counters that never count.** Some agents serve ifHCInOctets/ifHCOutOctets but leave them
  at 0. RFC 2863 defines ifInOctets as the low-order 32 bits of the same count ("a 64-bit version
  of ifInOctets"), so an HC counter at 0 beside a non-zero 32-bit one is not maintained: that
  interface is read with its 32-bit pair (`interface_rows`). The 32-bit columns are walked when some
  interface lacks HC counters, or when every HC counter read is 0 (an agent that maintains none).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from gufo.snmp import ValueType

from netmon.pollers.base import InterfaceRow
from netmon.pollers.snmptext import as_enum, as_int, decode_text

__all__ = [
    "IF_COLUMNS",
    "IF_DESCR",
    "IF_OCTETS_32",
    "IF_OCTETS_64",
    "SPEED_SATURATED",
    "interface_ids",
    "interface_rows",
    "needs_descr",
    "needs_octets_32",
    "resolve_interface",
    "speed_bps",
    "unique_ids",
]

#: Walked on every poll: ifXTable name/alias/high speed and the ifTable status, speed and error columns.
IF_COLUMNS = {
    "name": "1.3.6.1.2.1.31.1.1.1.1",
    "high_speed": "1.3.6.1.2.1.31.1.1.1.15",
    "alias": "1.3.6.1.2.1.31.1.1.1.18",
    "admin_status": "1.3.6.1.2.1.2.2.1.7",
    "oper_status": "1.3.6.1.2.1.2.2.1.8",
    "speed": "1.3.6.1.2.1.2.2.1.5",
    "in_discards": "1.3.6.1.2.1.2.2.1.13",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_discards": "1.3.6.1.2.1.2.2.1.19",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
}
#: ifDescr: walked only when some interface has no ifName.
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OCTETS_64 = {"in_octets": "1.3.6.1.2.1.31.1.1.1.6", "out_octets": "1.3.6.1.2.1.31.1.1.1.10"}
#: ifInOctets/ifOutOctets: walked only when some interface lacks its HC counters (always on v1).
IF_OCTETS_32 = {"in_octets": "1.3.6.1.2.1.2.2.1.10", "out_octets": "1.3.6.1.2.1.2.2.1.16"}

#: ifSpeed's ceiling: "If the bandwidth of the interface is greater than the maximum value
#: reportable by this object then this object should report its maximum value" (RFC 2863).
SPEED_SATURATED = 4_294_967_295

Columns = Mapping[str, Mapping[int, ValueType]]


def _indexes(columns: Columns) -> set[int]:
    """Every ifIndex any walked column mentions: the union of ifTable and ifXTable rows."""
    found: set[int] = set()
    for values in columns.values():
        found.update(values)
    return found


def needs_descr(columns: Columns) -> bool:
    """Tell whether some interface has no usable ifName, so that ifDescr must be walked."""
    names = columns.get("name", {})
    return any(_blank(names.get(index)) for index in _indexes(columns))


def _blank(value: ValueType) -> bool:
    """Tell whether an ifName decodes to "" (absent, empty, or only NUL bytes) without decoding it."""
    return value is None or (isinstance(value, bytes) and not value.strip(b"\x00")) or value == ""


def needs_octets_32(columns: Columns) -> bool:
    """Tell whether the 32-bit octet counters must be walked.

    They must when some interface lacks a 64-bit one, or when every 64-bit one is 0 (an agent that
    does not maintain them: RFC 2863's ifInOctets is the low 32 bits of ifHCInOctets, see `interface_rows`).
    """
    hc_in, hc_out = columns.get("hc_in_octets", {}), columns.get("hc_out_octets", {})
    if any(as_int(hc_in.get(i)) is None or as_int(hc_out.get(i)) is None for i in _indexes(columns)):
        return True
    return not any(as_int(value) for column in (hc_in, hc_out) for value in column.values())


def speed_bps(if_speed: ValueType, if_high_speed: ValueType) -> int | None:
    """Return an interface's speed in bit/s from ifSpeed and ifHighSpeed (Mbit/s); None when neither tells it.

    RFC 2863: ifSpeed saturates at 4,294,967,295 and "ifHighSpeed must be used" above it; a
    saturated ifSpeed with no ifHighSpeed ≥ 1 is therefore unknown (None), never 4.29 Gbit/s.
    """
    speed, high = as_int(if_speed), as_int(if_high_speed)
    if speed is not None and speed < 0:
        speed = None
    if high is not None and high >= 1 and (speed is None or speed >= SPEED_SATURATED):
        return high * 1_000_000
    if speed is not None:
        return speed if speed < SPEED_SATURATED else None  # a floor, not the speed (RFC 2863 ifSpeed)
    return 0 if high == 0 else None


#: Interface speeds seen (bits/s), each kept as one int object; at most `_SPEEDS_KEPT` of them.
_SPEEDS: dict[int | None, int | None] = {}
_SPEEDS_KEPT = 4096


def interface_rows(columns: Columns, *, fallback: str) -> tuple[InterfaceRow, ...]:
    """Assemble one `InterfaceRow` per ifIndex, sorted by ifIndex.

    *columns* maps the keys of `IF_COLUMNS`, "descr", "hc_in_octets"/"hc_out_octets" and
    "in_octets"/"out_octets" (32-bit) to values by ifIndex; a missing column is empty. Text is
    decoded with *fallback* after UTF-8 (`decode_text`).
    """
    empty: Mapping[int, ValueType] = {}
    names, descrs, aliases = (columns.get(name, empty) for name in ("name", "descr", "alias"))
    hc_in, hc_out = columns.get("hc_in_octets", empty), columns.get("hc_out_octets", empty)
    in_32, out_32 = columns.get("in_octets", empty), columns.get("out_octets", empty)
    oper, admin = columns.get("oper_status", empty), columns.get("admin_status", empty)
    speeds, high_speeds = columns.get("speed", empty), columns.get("high_speed", empty)
    in_errors, out_errors = columns.get("in_errors", empty), columns.get("out_errors", empty)
    in_discards, out_discards = columns.get("in_discards", empty), columns.get("out_discards", empty)
    narrow_walked = bool(in_32 or out_32)
    rows = []
    for index in sorted(_indexes(columns)):
        in_64, out_64 = as_int(hc_in.get(index)), as_int(hc_out.get(index))
        wide = in_64 is not None and out_64 is not None
        in_narrow = out_narrow = None
        if narrow_walked:  # the common case is not: no 32-bit work per row then (1.7 million rows a round)
            in_narrow, out_narrow = as_int(in_32.get(index)), as_int(out_32.get(index))
            # RFC 2863: ifHCInOctets is "a 64-bit version of ifInOctets", so ifInOctets is its low 32
            # bits; an HC counter at 0 beside a counting 32-bit one is not maintained: read the pair
            wide = wide and not ((in_64 == 0 and in_narrow) or (out_64 == 0 and out_narrow))
        name = decode_text(names.get(index), fallback) or decode_text(descrs.get(index), fallback)
        speed = speed_bps(speeds.get(index), high_speeds.get(index))
        rows.append(
            InterfaceRow(
                if_index=index,
                # one string per name and one int per speed, however many ports and polls have them:
                # the newest sample of every port is kept (172,000 at 10k devices; issue 12)
                name=sys.intern(name or f"ifIndex:{index}"),
                alias=sys.intern(decode_text(aliases.get(index), fallback)),
                oper_status=as_enum(oper.get(index), 1, 7),
                admin_status=as_enum(admin.get(index), 1, 3),
                speed_bps=_SPEEDS.setdefault(speed, speed) if len(_SPEEDS) < _SPEEDS_KEPT else speed,
                counter_bits=64 if wide else 32,
                in_octets=in_64 if wide else in_narrow,
                out_octets=out_64 if wide else out_narrow,
                in_errors=as_int(in_errors.get(index)),
                out_errors=as_int(out_errors.get(index)),
                in_discards=as_int(in_discards.get(index)),
                out_discards=as_int(out_discards.get(index)),
            )
        )
    return tuple(rows)


def interface_ids(rows: Iterable[InterfaceRow]) -> dict[int, str]:
    """Return each interface's identity on its device, by ifIndex: its name where unique, else ``name#ifIndex``.

    A name no other interface has is kept as it is, even when it looks like a made-up identity
    ("eth0#2"); a made-up identity that meets it is suffixed again ("eth0#2#2").
    """
    return unique_ids({row.if_index: row.name for row in rows})


def unique_ids(names: Mapping[int, str]) -> dict[int, str]:
    """Return an identity per table index: its name where no other index has it, else ``name#index``.

    The rule of `interface_ids`, for any table whose rows are named by a text column that agents
    repeat (hrStorageDescr too): one Prometheus label set per row, whatever the agent calls them.
    """
    repeated = Counter(names.values())
    ids = {index: name if repeated[name] == 1 else f"{name}#{index}" for index, name in names.items()}
    for _ in range(len(ids)):  # "a#2" may be another interface's own name: the made-up one gives way
        counts = Counter(ids.values())
        clashing = [index for index, given in ids.items() if counts[given] > 1 and repeated[names[index]] > 1]
        if not clashing:
            break
        for index in clashing:
            ids[index] = f"{ids[index]}#{index}"
    return ids


def resolve_interface(rows: Sequence[InterfaceRow], wanted: str) -> InterfaceRow | list[str] | None:
    """Find the interface a link names: by identity (``name#ifIndex`` or a unique name), else by name.

    Returns the row; None when no interface has that name; the sorted candidate identities when
    the name is ambiguous on the device (the link cannot be judged by its interface).
    """
    ids = interface_ids(rows)
    exact = [row for row in rows if ids[row.if_index] == wanted]
    if exact:
        return exact[0]
    named = [row for row in rows if row.name == wanted]
    if len(named) > 1:
        return sorted(ids[row.if_index] for row in named)
    return named[0] if named else None
