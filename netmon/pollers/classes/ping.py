"""The `ping` poll class: ICMP echo (gufo-ping) to every device; RTT, jitter and loss."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client.core import GaugeMetricFamily, Metric

from netmon.config import Config, PingClass
from netmon.config import PollClass as PollSettings
from netmon.kernel import Sample, Target
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.ping import PingPoller
from netmon.pollers.samples import PingSample

if TYPE_CHECKING:
    from netmon.monitor.latest import MetricsView

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
    def export(cls, view: MetricsView) -> Iterator[Metric]:
        """Yield netmon_ping_rtt_seconds, _jitter_seconds and _loss_ratio of the current ping samples."""
        labels = ["device", "unit", "level", "role"]
        rtt = GaugeMetricFamily("netmon_ping_rtt_seconds", "Mean echo RTT of the last ping round.", labels=labels)
        jitter = GaugeMetricFamily("netmon_ping_jitter_seconds", "RTT mean deviation, last ping round.", labels=labels)
        loss = GaugeMetricFamily("netmon_ping_loss_ratio", "Echo requests lost in the last ping round.", labels=labels)
        for name, values in view.devices():
            ping = view.fresh(name, PingSample.kind)
            if not isinstance(ping, PingSample):
                continue
            loss.add_metric(values, ping.loss_ratio)
            if ping.rtt_avg is not None:
                rtt.add_metric(values, ping.rtt_avg)
            if ping.jitter is not None:
                jitter.add_metric(values, ping.jitter)
        yield from (rtt, jitter, loss)
