"""The `snmp` poll class: SNMPv2-MIB system group, then IF-MIB interfaces, of every device with a profile.

Exports `netmon_snmp_up`, `netmon_device_uptime_seconds` and the `netmon_interface_*` series.
Interface series come only from a current sample (`netmon.monitor.latest`): when the agent
stops answering, `netmon_snmp_up` goes to 0 and the interface series leave /metrics at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.ifmib import interface_ids
from netmon.pollers.samples import InterfacesSample, SystemSample
from netmon.pollers.snmp import SnmpPoller
from netmon.sinks.exposition import DEVICE_LABELS, DeviceView, Family, Lines, go_number, label_pair, label_text

__all__ = ["Snmp", "snmp_deadline"]

_UP = 1  # IF-MIB ifOperStatus / ifAdminStatus up(1)
_ONE, _ZERO = "1.0\n", "0.0\n"  # a 0/1 gauge's value and line end
_COUNTERS = (
    (
        Family("netmon_interface_received_bytes", "Octets received (ifHCInOctets).", "counter", "interfaces"),
        "in_octets",
    ),
    (
        Family("netmon_interface_transmitted_bytes", "Octets sent (ifHCOutOctets).", "counter", "interfaces"),
        "out_octets",
    ),
    (Family("netmon_interface_receive_errors", "Inbound errors (ifInErrors).", "counter", "interfaces"), "in_errors"),
    (
        Family("netmon_interface_transmit_errors", "Outbound errors (ifOutErrors).", "counter", "interfaces"),
        "out_errors",
    ),
    (
        Family("netmon_interface_receive_discards", "Inbound discards (ifInDiscards).", "counter", "interfaces"),
        "in_discards",
    ),
    (
        Family("netmon_interface_transmit_discards", "Outbound discards (ifOutDiscards).", "counter", "interfaces"),
        "out_discards",
    ),
)
_SNMP_UP = Family("netmon_snmp_up", "1 when the last SNMP system poll answered.")
_UPTIME = Family("netmon_device_uptime_seconds", "sysUpTime.")
_OPER = Family("netmon_interface_oper_up", "1 when ifOperStatus is up.", path="interfaces")
_ADMIN = Family("netmon_interface_admin_up", "1 when ifAdminStatus is up.", path="interfaces")
_FLAPPING = Family("netmon_interface_flapping", "1 while the interface flaps.", path="interfaces")
_SPEED = Family("netmon_interface_speed_bytes", "Interface speed, bytes per second.", path="interfaces")
_NARROW = Family(
    "netmon_interface_counter_bits",
    "32 where the octet counters are 32-bit ifInOctets/ifOutOctets (they wrap at 2^32); absent for 64-bit ifHC*.",
    path="interfaces",
)
_CUT = Family(
    "netmon_snmp_walks_cut",
    "Walks of the last IF-MIB poll cut short (OID not increasing, request/row/time limit).",
    path="interfaces",
)


def snmp_deadline(config: Config, settings: PollSettings) -> float:
    """Return the most seconds one SNMP poll may take: 4 requests x attempts x the slowest timeout, + 1 s.

    The slowest timeout is the largest of the class's and every profile's; never more than the interval.
    """
    attempts = settings.retries + 1
    slowest = max([p.timeout or settings.timeout for p in config.snmp_profiles.values()] + [settings.timeout])
    return min(settings.interval, 4 * attempts * slowest + 1.0)


class Snmp(BasePollClass):
    """sysUpTime/sysName/..., then the IF-MIB interface table (skipped when the system group fails)."""

    name: ClassVar[str] = "snmp"
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 300, "timeout": 2.0, "retries": 1}
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (SystemSample, InterfacesSample)
    trap_polled: ClassVar[bool] = True
    metric_paths: ClassVar[frozenset[Literal["main", "interfaces"]]] = frozenset(("main", "interfaces"))

    def __init__(self, config: Config, settings: PollSettings) -> None:
        super().__init__(config, settings)
        self.poller = SnmpPoller(config.snmp_profiles, settings)

    async def aclose(self) -> None:
        """Close the poller's pysnmp engines (v3 profiles with a context), if any were opened."""
        await self.poller.aclose()

    def applies(self, target: Target) -> bool:
        """Poll devices that have an SNMP profile."""
        return target.snmp is not None

    def deadline(self, target: Target) -> float:
        """Return `snmp_deadline` of this class's settings."""
        return snmp_deadline(self.config, self.settings)

    async def poll(self, target: Target) -> list[Sample]:
        """Read the system group; if it answered, walk the interfaces on its sysUpTime."""
        system = await self.poller.system(target)
        if not system.ok:  # the agent is not answering: do not wait out the walks too
            return [system]
        return [system, await self.poller.interfaces(target, uptime=system.sys_uptime)]

    @classmethod
    def export(cls, view: DeviceView, out: Lines) -> None:
        """Write netmon_snmp_up, netmon_device_uptime_seconds and the interface series of current samples.

        Which interfaces get series is `metrics.interfaces` (`netmon.config.MetricsConfig`).
        """
        labels = label_text(DEVICE_LABELS, view.labels)
        system = view.fresh(SystemSample.kind)
        if not isinstance(system, SystemSample):
            if view.newest(SystemSample.kind) is not None:
                out.add(_SNMP_UP, labels, 0)  # it answered once, and nothing current since: down
            return
        out.add(_SNMP_UP, labels, 1 if system.ok else 0)
        if system.ok and system.sys_uptime is not None:
            out.add(_UPTIME, labels, system.sys_uptime / 100)
        if "interfaces" in view.paths:  # a scrape of /metrics alone does not format them
            _interfaces(view, out)


def _interfaces(view: DeviceView, out: Lines) -> None:
    """Write the interface series: at 10k devices 1.7 million a minute, so whole lines are appended per family."""
    from netmon.monitor.topology import interface_key  # noqa: PLC0415 (config loading imports this module)

    sample = view.fresh(InterfacesSample.kind)
    if not isinstance(sample, InterfacesSample) or not sample.ok:
        return
    name, unit, level = view.labels[:3]
    out.add(_CUT, label_text(("device", "unit", "level"), (name, unit, level)), len(sample.walk_notes))
    # label_text() order (sorted: device, interface, level, unit), with the device's part escaped once
    device, tail = label_text(("device",), (name,)), label_text(("level", "unit"), (level, unit))
    choice = view.settings.interfaces if view.settings is not None else "all"
    ids = interface_ids(sample.interfaces)  # a repeated name gets "#ifIndex": label sets stay unique
    oper, admin, flapping, speed, narrow = map(out.lines, (_OPER, _ADMIN, _FLAPPING, _SPEED, _NARROW))
    counters = [(out.lines(family), family.prefix, field) for family, field in _COUNTERS]
    state = view.state_unrecorded  # the interface families are rendered at each scrape, never kept
    for row in sample.interfaces:
        identity = ids[row.if_index]
        if choice == "admin_up" and row.admin_status not in (_UP, None):
            continue
        if choice == "linked" and identity not in view.linked and row.name not in view.linked:
            continue
        series = f"{device},{label_pair('interface', identity)},{tail}}} "
        if row.oper_status is not None:
            oper.append(f"{_OPER.prefix}{series}{_ONE if row.oper_status == _UP else _ZERO}")
        if row.admin_status is not None:
            admin.append(f"{_ADMIN.prefix}{series}{_ONE if row.admin_status == _UP else _ZERO}")
        flapping.append(f"{_FLAPPING.prefix}{series}{_ONE if state(*interface_key(name, identity))[1] else _ZERO}")
        if row.speed_bps is not None:
            speed.append(f"{_SPEED.prefix}{series}{go_number(row.speed_bps / 8)}\n")
        if row.counter_bits != 64:
            narrow.append(f"{_NARROW.prefix}{series}{go_number(row.counter_bits)}\n")
        for lines, prefix, field in counters:
            value = getattr(row, field)
            if value is not None:
                lines.append(f"{prefix}{series}{go_number(value)}\n")
