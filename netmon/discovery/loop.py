"""The topology poll of `netmon run`: neighbour tables every `discovery.topology_interval` seconds.

The first poll, five minutes after a start, learns the tree; each later one reports the devices whose uplink
moved (`TopologyWatch`), as one MQTT event each on `<prefix>/events/topology` (through the
outbox, so at least once) and a log line, and counts them in /metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from netmon.discovery.watch import TopologyWatch, messages_for_changes
from netmon.errors import NetmonError
from netmon.kernel import utcnow
from netmon.sinks.outbox import Outbox

if TYPE_CHECKING:
    from netmon.runtime import Runtime

__all__ = ["FIRST_POLL_DELAY", "TopologyCollector", "topology_loop"]

#: Seconds after start before the first topology poll (it only learns the tree).
FIRST_POLL_DELAY = 300.0


async def topology_loop(runtime: Runtime, watch: TopologyWatch, *, wake: Callable[[], None] | None) -> None:
    """Poll the topology `FIRST_POLL_DELAY` seconds after start (at most the interval), then every interval.

    The first poll waits so that start-up's own rounds are not competing with it. *wake* tells
    the MQTT publisher that events wait in the outbox (None: MQTT is off).
    """
    await asyncio.sleep(min(FIRST_POLL_DELAY, runtime.config.discovery.topology_interval))  # a delay, not sync
    while True:
        watch.config = runtime.config  # a reload may have changed the profiles or discovery.root
        try:
            changes = await watch.poll(runtime.live.inventory)
        except (NetmonError, OSError) as exc:
            runtime.log.warning("topology poll failed; trying again at the next interval", error=str(exc))
            changes = []
        watch.last_poll = utcnow().timestamp()
        for change in changes:
            runtime.log.info("topology changed", device=change.device, change=str(change))
        if changes and wake is not None and runtime.engine is not None:
            prefix = runtime.config.mqtt.topic_prefix
            try:
                await asyncio.to_thread(Outbox(runtime.engine).write, messages_for_changes(changes, prefix))
            except NetmonError as exc:
                runtime.log.warning("topology events not queued for MQTT", error=str(exc), changes=len(changes))
            else:
                wake()
        await asyncio.sleep(runtime.config.discovery.topology_interval)  # a period, not synchronisation


class TopologyCollector(Collector):
    """Exports the topology poll's counters (read from the watch, no I/O)."""

    def __init__(self, watch: TopologyWatch) -> None:
        self._watch = watch

    def collect(self) -> Iterator[Metric]:
        """Yield polls, changes and the last poll's time (each device's neighbour count: `sections.Neighbours`)."""
        watch = self._watch
        yield CounterMetricFamily("netmon_topology_polls", "Topology (LLDP/CDP) polls done.", value=watch.polls)
        yield CounterMetricFamily(
            "netmon_topology_changes", "Uplinks seen moving (parent or port) between polls.", value=watch.changes_total
        )
        if watch.last_poll is not None:
            yield GaugeMetricFamily(
                "netmon_topology_last_poll_timestamp_seconds",
                "When the last topology poll ended.",
                value=watch.last_poll,
            )
