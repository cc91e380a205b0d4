"""The `host_resources` poll class: HOST-RESOURCES-MIB (RFC 2790) CPU load and storage of servers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.inventory.models import Role
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.classes.snmp import snmp_deadline
from netmon.pollers.ifmib import unique_ids
from netmon.pollers.samples import HostSample, StorageRow
from netmon.pollers.snmp import SnmpPoller
from netmon.sinks.exposition import DeviceView, Family, Lines, label_text

__all__ = ["HostResources", "storage_ids"]


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
    def export(cls, view: DeviceView, out: Lines) -> None:
        """Write netmon_host_cpu_load_ratio and netmon_host_storage_{size,used}_bytes of the current sample."""
        host = view.fresh(HostSample.kind)
        if not isinstance(host, HostSample) or not host.ok:
            return
        values = view.labels[:3]
        indexes = host.cpu_index or range(len(host.cpu_load))  # the `cpu` label is the row's hrDeviceIndex
        for index, load in zip(indexes, host.cpu_load, strict=True):
            out.add(_CPU, label_text(_CPU_LABELS, (*values, str(index))), load / 100)
        ids = storage_ids(host.storage)
        for row in host.storage:  # an unknown size or use (a negative Integer32 that does not fit): no series
            labels = label_text(_STORAGE_LABELS, (*values, ids[row.index]))
            if row.size_bytes is not None:
                out.add(_SIZE, labels, row.size_bytes)
            if row.used_bytes is not None:
                out.add(_USED, labels, row.used_bytes)


def storage_ids(rows: Iterable[StorageRow]) -> dict[int, str]:
    """Return each hrStorage row's ``storage`` label: its hrStorageDescr where unique on the host, else ``descr#index``.

    RFC 2790 makes hrStorageIndex the row's identity, not hrStorageDescr: agents repeat a
    description (a second tmpfs on /run, bind mounts) or leave it empty, and two series with one
    label set are one series to Prometheus, which keeps either, silently. An empty description
    is ``hrStorageIndex:N``; a repeated one is suffixed as interface names are (`unique_ids`).
    """
    return unique_ids({row.index: row.descr or f"hrStorageIndex:{row.index}" for row in rows})


_CPU_LABELS = ("device", "unit", "level", "cpu")
_STORAGE_LABELS = ("device", "unit", "level", "storage")
_CPU = Family("netmon_host_cpu_load_ratio", "hrProcessorLoad / 100.")
_SIZE = Family("netmon_host_storage_size_bytes", "hrStorageSize.")
_USED = Family("netmon_host_storage_used_bytes", "hrStorageUsed.")
