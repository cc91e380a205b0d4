"""The `ping` poll class: ICMP echo (gufo-ping) to every device; RTT, jitter and loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from netmon.config import Config, PingClass
from netmon.config import PollClass as PollSettings
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.ping import PingPoller
from netmon.pollers.samples import PingSample
from netmon.sinks.exposition import DEVICE_LABELS, DeviceView, Family, Lines, label_text

__all__ = ["Ping"]


class Ping(BasePollClass):
    """`count` echo requests per device per round, `packet_interval` apart (settings: `PingClass`)."""

    name: ClassVar[str] = "ping"
    defaults: ClassVar[Mapping[str, Any]] = {
        "interval": 60,
        "timeout": 1.0,
        "retries": 0,
        "count": 3,
        "packet_interval": 0.5,
    }
    settings_type: ClassVar[type[PollSettings]] = PingClass
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (PingSample,)
    trap_polled: ClassVar[bool] = True

    def __init__(self, config: Config, settings: PollSettings) -> None:
        super().__init__(config, settings)
        self.poller = PingPoller(config.polling.ping)

    async def check(self) -> None:
        """Raise PollError when no ICMP socket can be opened (`PingPoller.check`)."""
        await self.poller.check()

    def deadline(self, target: Target) -> float:
        """Return the longest a target's echo round can take, plus one second."""
        return self.poller.longest() + 1.0

    def slots(self, concurrency: int) -> int:
        """Return *concurrency* times `count`: a target holds its slot for `count` packets."""
        return concurrency * self.config.polling.ping.count

    async def poll(self, target: Target) -> list[Sample]:
        """Ping *target* once (`PingPoller.poll`)."""
        return [await self.poller.poll(target)]

    @classmethod
    def export(cls, view: DeviceView, out: Lines) -> None:
        """Write netmon_ping_rtt_seconds, _jitter_seconds and _loss_ratio of the device's current ping sample."""
        ping = view.fresh(PingSample.kind)
        if not isinstance(ping, PingSample):
            return
        labels = label_text(DEVICE_LABELS, view.labels)
        if ping.rtt_avg is not None:
            out.add(_RTT, labels, ping.rtt_avg)
        if ping.jitter is not None:
            out.add(_JITTER, labels, ping.jitter)
        out.add(_LOSS, labels, ping.loss_ratio)


_RTT = Family("netmon_ping_rtt_seconds", "Mean echo RTT of the last ping round.")
_JITTER = Family("netmon_ping_jitter_seconds", "RTT mean deviation, last ping round.")
_LOSS = Family("netmon_ping_loss_ratio", "Echo requests lost in the last ping round.")
