"""The `snmp` poll class: SNMPv2-MIB system group, then IF-MIB interfaces, of every device with a profile.

Exports `netmon_snmp_up`, `netmon_device_uptime_seconds` and the `netmon_interface_*` series.
Interface series come only from a current sample (`netmon.monitor.latest`): when the agent
stops answering, `netmon_snmp_up` goes to 0 and the interface series leave /metrics at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.ifmib import interface_ids
from netmon.pollers.samples import InterfacesSample, SystemSample
from netmon.pollers.snmp import SnmpPoller

if TYPE_CHECKING:
    from netmon.monitor.latest import MetricsView

__all__ = ["Snmp", "snmp_deadline"]

_UP = 1  # IF-MIB ifOperStatus / ifAdminStatus up(1)
_COUNTERS = (
    ("netmon_interface_received_bytes", "in_octets", "Octets received (ifHCInOctets)."),
    ("netmon_interface_transmitted_bytes", "out_octets", "Octets sent (ifHCOutOctets)."),
    ("netmon_interface_receive_errors", "in_errors", "Inbound errors (ifInErrors)."),
    ("netmon_interface_transmit_errors", "out_errors", "Outbound errors (ifOutErrors)."),
    ("netmon_interface_receive_discards", "in_discards", "Inbound discards (ifInDiscards)."),
    ("netmon_interface_transmit_discards", "out_discards", "Outbound discards (ifOutDiscards)."),
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
    def export(cls, view: MetricsView) -> Iterator[Metric]:
        """Yield netmon_snmp_up, netmon_device_uptime_seconds and the interface families of current samples."""
        labels = ["device", "unit", "level", "role"]
        snmp_up = GaugeMetricFamily("netmon_snmp_up", "1 when the last SNMP system poll answered.", labels=labels)
        uptime = GaugeMetricFamily("netmon_device_uptime_seconds", "sysUpTime.", labels=labels)
        for name, values in view.devices():
            system = view.fresh(name, SystemSample.kind)
            if not isinstance(system, SystemSample):
                if view.live.samples.newest(name, SystemSample.kind) is not None:
                    snmp_up.add_metric(values, 0)  # it answered once, and nothing current since: down
                continue
            snmp_up.add_metric(values, 1 if system.ok else 0)
            if system.ok and system.sys_uptime is not None:
                uptime.add_metric(values, system.sys_uptime / 100)
        yield from (snmp_up, uptime)
        yield from _interfaces(view)


def _interfaces(view: MetricsView) -> Iterator[Metric]:
    from netmon.monitor.topology import interface_key  # noqa: PLC0415 (config loading imports this module)

    labels = ["device", "interface", "unit", "level"]
    oper = GaugeMetricFamily("netmon_interface_oper_up", "1 when ifOperStatus is up.", labels=labels)
    admin = GaugeMetricFamily("netmon_interface_admin_up", "1 when ifAdminStatus is up.", labels=labels)
    flapping = GaugeMetricFamily("netmon_interface_flapping", "1 while the interface flaps.", labels=labels)
    speed = GaugeMetricFamily("netmon_interface_speed_bytes", "Interface speed, bytes per second.", labels=labels)
    narrow = GaugeMetricFamily(
        "netmon_interface_counter_bits",
        "32 where the octet counters are 32-bit ifInOctets/ifOutOctets (they wrap at 2^32); absent for 64-bit ifHC*.",
        labels=labels,
    )
    cut = GaugeMetricFamily(
        "netmon_snmp_walks_cut",
        "Walks of the last IF-MIB poll cut short (OID not increasing, request/row/time limit).",
        labels=["device", "unit", "level"],
    )
    counters = [(CounterMetricFamily(name, doc, labels=labels), field) for name, field, doc in _COUNTERS]
    for name, values in view.devices():
        sample = view.fresh(name, InterfacesSample.kind)
        if not isinstance(sample, InterfacesSample) or not sample.ok:
            continue
        cut.add_metric([name, values[1], values[2]], len(sample.walk_notes))
        ids = interface_ids(sample.interfaces)  # a repeated name gets "#ifIndex": label sets stay unique
        for row in sample.interfaces:
            identity = ids[row.if_index]
            series = [name, identity, values[1], values[2]]
            if row.oper_status is not None:
                oper.add_metric(series, 1 if row.oper_status == _UP else 0)
            if row.admin_status is not None:
                admin.add_metric(series, 1 if row.admin_status == _UP else 0)
            flapping.add_metric(series, 1 if view.state_of(*interface_key(name, identity)).flapping else 0)
            if row.speed_bps is not None:
                speed.add_metric(series, row.speed_bps / 8)
            if row.counter_bits != 64:
                narrow.add_metric(series, row.counter_bits)
            for family, field in counters:
                value = getattr(row, field)
                if value is not None:
                    family.add_metric(series, value)
    yield from (oper, admin, flapping, speed, narrow, cut)
    yield from (family for family, _ in counters)
