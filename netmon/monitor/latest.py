"""Latest samples per (device, sample kind), and the one rule that says which of them are current.

`LatestSamples.fresh()` is the only freshness accessor: the state engine (`LiveState`) and the
exporters (`PollClass.export` through `MetricsView`) both read samples through it, so a series
that no longer drives a state is no longer exported either (issue 11). A sample is current when

1. it is not older than its poll class's freshness window (`PollClass.freshness`, by default two
   intervals plus 60 s), and
2. no poll of the same class *failed as a whole* for that device after it (its first sample
   kind, the one `failed()` gives, was not OK): when an agent stops answering, its SNMP system
   sample fails and the older interface data stops being current at once, as snmp_exporter
   drops a failed walk (STYLE.md, client_python note). A failed interface walk alone makes
   only the interface sample a failure.

A failed sample is itself current (it says `snmp_up 0`); readers check `sample.ok`.
Runs on the event loop; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from netmon.kernel import Sample

if TYPE_CHECKING:
    from netmon.monitor.live import LiveState
    from netmon.monitor.state import ObjectState

__all__ = ["LatestSamples", "MetricsView"]


class LatestSamples:
    """The newest sample of each kind per device, with per-class failure times for the freshness rule.

    *windows* maps a sample kind to (its poll class name, its freshness window, whether it is the
    class's first kind), as `netmon.pollers.registry.windows` gives; samples of a kind not in it
    are kept under a window of *default* (10 minutes) and count as their own class.
    """

    def __init__(
        self,
        devices: Iterable[str],
        windows: Mapping[str, tuple[str, timedelta, bool]],
        *,
        default: timedelta = timedelta(minutes=10),
    ) -> None:
        self._devices = set(devices)
        self._windows = dict(windows)
        self._default = default
        self._newest: dict[tuple[str, str], Sample] = {}
        self._failed: dict[tuple[str, str], datetime] = {}  # (device, poll class) -> last failure

    def record(self, samples: Iterable[Sample]) -> None:
        """Keep each sample if it is the newest of its (device, kind); devices not in the inventory are ignored."""
        for sample in samples:
            if sample.device not in self._devices:
                continue
            key = (sample.device, sample.kind)
            held = self._newest.get(key)
            if held is not None and held.ts > sample.ts:
                continue
            self._newest[key] = sample
            poll_class, _, first = self._windows.get(sample.kind, (sample.kind, self._default, True))
            if not sample.ok and first:
                failed = self._failed.get((sample.device, poll_class))
                if failed is None or sample.ts > failed:
                    self._failed[(sample.device, poll_class)] = sample.ts

    def fresh(self, device: str, kind: str, now: datetime) -> Sample | None:
        """Return the device's current sample of *kind* (see the module's rule), or None."""
        sample = self._newest.get((device, kind))
        if sample is None:
            return None
        poll_class, window, _ = self._windows.get(kind, (kind, self._default, True))
        if now - sample.ts > window:
            return None
        failed = self._failed.get((device, poll_class))
        if failed is not None and failed > sample.ts:
            return None
        return sample

    def newest(self, device: str, kind: str) -> Sample | None:
        """Return the newest sample of *kind*, current or not (for diagnostics; readers of state use `fresh`)."""
        return self._newest.get((device, kind))

    def adopt(self, old: LatestSamples) -> None:
        """Take over *old*'s samples of the devices still here (a reload)."""
        self._newest.update({k: v for k, v in old._newest.items() if k[0] in self._devices})
        self._failed.update({k: v for k, v in old._failed.items() if k[0] in self._devices})


@dataclass(frozen=True)
class MetricsView:
    """What an exporter reads at one scrape: the live view at instant *now*, through the freshness rule."""

    live: LiveState
    now: datetime

    def devices(self) -> Iterator[tuple[str, list[str]]]:
        """Yield (device, [device, unit, level, role] label values) for every enabled device."""
        units = self.live.inventory.units
        for name, device in self.live.inventory.devices.items():
            if device.enabled:
                yield name, [name, device.unit, units[device.unit].level.value, device.role.value]

    def fresh(self, device: str, kind: str) -> Sample | None:
        """Return the device's current sample of *kind* (`LatestSamples.fresh`)."""
        return self.live.samples.fresh(device, kind, self.now)

    def state_of(self, kind: str, name: str) -> ObjectState:
        """Return the state engine's memory of (kind, name)."""
        return self.live.state_of((kind, name))
