"""The sample kinds of the built-in poll classes: ping, SNMP system and interfaces, HOST-RESOURCES.

Each is a frozen `Sample` (netmon.kernel) whose `kind` names it in the latest-sample store,
in `poll --once --json` and in the exporter registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netmon.kernel import Sample, ValueObject

__all__ = ["HostSample", "InterfaceRow", "InterfacesSample", "PingSample", "StorageRow", "SystemSample"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PingSample(Sample):
    """ICMP echo round: packets sent and received, RTT (seconds) and jitter (mean deviation)."""

    kind: ClassVar[str] = "ping"
    sent: int = 0
    received: int = 0
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_max: float | None = None
    jitter: float | None = None

    @property
    def loss_ratio(self) -> float:
        """Return the share of echo requests that got no reply (1.0 when none were sent)."""
        return 1.0 - self.received / self.sent if self.sent else 1.0


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemSample(Sample):
    """SNMPv2-MIB system group."""

    kind: ClassVar[str] = "snmp_system"
    sys_uptime: int | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InterfaceRow(ValueObject):
    """One IF-MIB interface; counters are 64-bit (ifX HC) or 32-bit (ifTable) as `counter_bits` says."""

    if_index: int
    name: str
    alias: str = ""
    oper_status: int | None = None
    admin_status: int | None = None
    speed_bps: int | None = None
    counter_bits: int = 64
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InterfacesSample(Sample):
    """IF-MIB interfaces with sysUpTime, the clock the counters are read on."""

    kind: ClassVar[str] = "snmp_interfaces"
    sys_uptime: int | None = None
    interfaces: tuple[InterfaceRow, ...] = ()
    #: Walks cut short, one line each (e.g. "1.3.6.1.2.1.2.2.1.8: OID not increasing after 3 rows").
    walk_notes: tuple[str, ...] = ()

    @property
    def discontinuity_known(self) -> bool:
        """Tell whether the counters' clock (sysUpTime) was read: without it a restart cannot be seen."""
        return self.sys_uptime is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageRow(ValueObject):
    """One HOST-RESOURCES hrStorage entry, in bytes; None where the agent's value is unusable (negative)."""

    index: int
    descr: str
    size_bytes: int | None
    used_bytes: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class HostSample(Sample):
    """HOST-RESOURCES-MIB: per-CPU load (%) and storage.

    ``cpu_load`` holds the loads in hrDeviceIndex order and ``cpu_index`` each one's hrDeviceIndex
    (the row's identity, RFC 2790: a CPU keeps its label when another row is missing or out of range).
    """

    kind: ClassVar[str] = "host_resources"
    cpu_load: tuple[int, ...] = ()
    cpu_index: tuple[int, ...] = ()
    storage: tuple[StorageRow, ...] = ()
    walk_notes: tuple[str, ...] = ()
