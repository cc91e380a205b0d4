"""The `host_resources` poll class: HOST-RESOURCES-MIB (RFC 2790) CPU load and storage of servers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client.core import GaugeMetricFamily, Metric

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.inventory.models import Role
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.classes.snmp import snmp_deadline
from netmon.pollers.samples import HostSample
from netmon.pollers.snmp import SnmpPoller

if TYPE_CHECKING:
    from netmon.monitor.latest import MetricsView

__all__ = ["HostResources"]


class HostResources(BasePollClass):
    """hrProcessorLoad and hrStorage of every server with an SNMP profile."""

    name: ClassVar[str] = "host_resources"
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 300, "timeout": 3.0, "retries": 1}
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (HostSample,)

    def __init__(self, config: Config, settings: PollSettings) -> None:
        super().__init__(config, settings)
        self.poller = SnmpPoller(config.snmp_profiles, settings)

    async def aclose(self) -> None:
        """Close the poller's pysnmp engines (v3 profiles with a context), if any were opened."""
        await self.poller.aclose()

    def applies(self, target: Target) -> bool:
        """Poll servers that have an SNMP profile."""
        return target.snmp is not None and target.role is Role.SERVER

    def deadline(self, target: Target) -> float:
        """Return the SNMP deadline (`snmp_deadline`)."""
        return snmp_deadline(self.config, self.settings)

    async def poll(self, target: Target) -> list[Sample]:
        """Walk hrProcessorLoad and hrStorage."""
        return [await self.poller.host_resources(target)]

    @classmethod
    def export(cls, view: MetricsView) -> Iterator[Metric]:
        """Yield netmon_host_cpu_load_ratio and netmon_host_storage_{size,used}_bytes of current samples."""
        labels = ["device", "unit", "level"]
        cpu = GaugeMetricFamily("netmon_host_cpu_load_ratio", "hrProcessorLoad / 100.", labels=[*labels, "cpu"])
        size = GaugeMetricFamily("netmon_host_storage_size_bytes", "hrStorageSize.", labels=[*labels, "storage"])
        used = GaugeMetricFamily("netmon_host_storage_used_bytes", "hrStorageUsed.", labels=[*labels, "storage"])
        for name, values in view.devices():
            host = view.fresh(name, HostSample.kind)
            if not isinstance(host, HostSample) or not host.ok:
                continue
            for index, load in enumerate(host.cpu_load):
                cpu.add_metric([*values[:3], str(index)], load / 100)
            for row in host.storage:  # an unknown size or use (a negative Integer32 that does not fit): no series
                if row.size_bytes is not None:
                    size.add_metric([*values[:3], row.descr], row.size_bytes)
                if row.used_bytes is not None:
                    used.add_metric([*values[:3], row.descr], row.used_bytes)
        yield from (cpu, size, used)
