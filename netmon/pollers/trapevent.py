"""What the trap receiver accepts and counts: the trap names, the outcomes, `TrapEvent` (no pysnmp here).

Split from `netmon.pollers.traps` so that the daemon, the exporter and the trap-driven polls
can name them without importing pysnmp, which costs ~20 MB of a daemon's memory and is needed
only when `traps.enabled` (issue 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from netmon.kernel import ValueObject

__all__ = ["COUNTS", "TRAP_NAMES", "TrapEvent"]

#: The traps that call `on_trap`, by snmpTrapOID.
TRAP_NAMES = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
}
#: Every outcome a datagram is counted under.
COUNTS = (
    "accepted",  # a trap in TRAP_NAMES, delivered to on_trap
    "ignored",  # authentic, but another notification type
    "unknown_source",  # the source address is no device of the inventory
    "bad_community",  # v1/v2c with a community other than the device's profile's
    "bad_auth",  # v3 with another user, level or keys than the device's profile's
    "malformed",  # not an SNMP message, or a v1/v2c one pysnmp could not decode
    "unsupported",  # authPriv without the cryptography package
    "discovery",  # v3 engine discovery or time synchronisation, answered with a Report (RFC 3414 section 4)
    "error",  # pysnmp failed on it (logged)
    "rate_limited",  # over its source's rate (traps.rate_limit, traps.rate_burst): not even parsed
)


@dataclass(frozen=True, kw_only=True)
class TrapEvent(ValueObject):
    """An accepted trap: which device sent what. The daemon polls the device; the trap sets no state."""

    kind: ClassVar[str] = "trap"
    ts: datetime
    source: str
    device: str
    trap: str  # linkDown, linkUp, coldStart, warmStart
    version: str  # 1, 2c or 3
    if_index: int | None = None
    if_name: str | None = None
