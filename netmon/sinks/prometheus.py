"""Prometheus exposition: a custom collector over the live view, plus the daemon's own instruments.

`collect()` reads the in-memory live view and does no I/O. Device, link and round metrics are
built here; each poll class exports its own samples (`PollClass.export`, beside the class), and
this module only iterates the registry. The registry is injected, so each
daemon (and each test) has its own. Names follow docs/metrics.md.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from netmon import __version__
from netmon.monitor.live import LiveState
from netmon.monitor.scheduler import RoundStats
from netmon.pollers.trapevent import COUNTS as TRAP_COUNTS
from netmon.sinks.mqtt import MqttPublisher

if TYPE_CHECKING:
    from netmon.pollers.traps import TrapReceiver  # pysnmp: imported only when traps are enabled

__all__ = ["Instruments", "LiveCollector"]


@dataclass(frozen=True)
class Instruments:
    """The daemon's own instruments, updated where things happen (not in collect())."""

    round_duration: Histogram
    samples: Counter
    db_write: Histogram
    poison: Counter
    exposition: Histogram

    @classmethod
    def register(cls, registry: CollectorRegistry) -> Instruments:
        """Create the instruments in *registry*."""
        return cls(
            round_duration=Histogram(
                "netmon_poll_round_duration_seconds",
                "How long poll rounds take.",
                ["poll_class"],
                buckets=(0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600),
                registry=registry,
            ),
            samples=Counter(
                "netmon_poll_samples", "Samples by poll class and status.", ["poll_class", "status"], registry=registry
            ),
            db_write=Histogram(
                "netmon_db_write_duration_seconds",
                "Database write latency.",
                ["operation"],
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                registry=registry,
            ),
            poison=Counter(
                "netmon_pipeline_poison_items",
                "Items the transition pipeline could not store and set aside (poison table).",
                ["what"],
                registry=registry,
            ),
            exposition=Histogram(
                "netmon_exposition_duration_seconds",
                "Time netmon took to make a scrape's text, by path; Prometheus' scrape_duration_seconds adds the"
                " transfer and its own ingestion.",
                ["path"],
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
                registry=registry,
            ),
        )


class LiveCollector(Collector):
    """Exports the small families of the live view: build, inventory counts, open outages, rounds.

    The per-object families (devices, interfaces, links, services, units, indicators) are rendered
    by `netmon.sinks.exposition.Exposition` over `sections()`, which keeps each object's lines.
    """

    def __init__(self, live: Callable[[], LiveState], stats: Callable[[], Mapping[str, RoundStats]]) -> None:
        self._live = live
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """Yield every small metric family from the in-memory view."""
        live = self._live()
        build = GaugeMetricFamily("netmon_build_info", "netmon version.", labels=["version", "python"])
        build.add_metric([__version__, platform.python_version()], 1)
        yield build
        yield from _inventory(live)
        yield from _rounds(self._stats())


class ServiceCollector(Collector):
    """Exports the MQTT publisher's and the trap receiver's counters (read from their attributes)."""

    def __init__(self, mqtt: Callable[[], MqttPublisher | None], traps: Callable[[], TrapReceiver | None]) -> None:
        self._mqtt = mqtt
        self._traps = traps

    def collect(self) -> Iterator[Metric]:
        """Yield the MQTT and trap metrics of the parts that are enabled."""
        mqtt = self._mqtt()
        if mqtt is not None:
            yield GaugeMetricFamily(
                "netmon_mqtt_connected", "1 while connected to the broker.", value=int(mqtt.connected)
            )
            yield CounterMetricFamily(
                "netmon_mqtt_published", "Messages the broker acknowledged.", value=mqtt.published
            )
            yield GaugeMetricFamily(
                "netmon_mqtt_pending_messages", "Messages waiting in the outbox.", value=mqtt.pending_estimate
            )
            yield CounterMetricFamily("netmon_mqtt_reconnects", "Failed connections retried.", value=mqtt.reconnects)
        traps = self._traps()
        if traps is not None:
            family = CounterMetricFamily("netmon_traps", "Trap datagrams by outcome.", labels=["outcome"])
            for outcome in TRAP_COUNTS:
                family.add_metric([outcome], traps.counts.get(outcome, 0))
            yield family


def _inventory(live: LiveState) -> Iterator[Metric]:
    inv = live.inventory
    objects = GaugeMetricFamily("netmon_inventory_objects", "Objects in the inventory.", labels=["kind"])
    counted = (("unit", inv.units), ("device", inv.devices), ("link", inv.links), ("service", inv.services))
    for kind, count in ((kind, len(items)) for kind, items in counted):
        objects.add_metric([kind], count)
    yield objects
    outages = GaugeMetricFamily("netmon_outages_open", "Open outages by kind and cause.", labels=["kind", "cause"])
    counts = live.open_outages()
    for kind in ("device", "link", "service"):
        for cause in ("down", "unreachable", "maintenance"):
            outages.add_metric([kind, cause], counts.get((kind, cause), 0))
    yield outages


def _rounds(stats: Mapping[str, RoundStats]) -> Iterator[Metric]:
    lag = GaugeMetricFamily("netmon_poll_round_lag_seconds", "Delay of the last round's start.", labels=["poll_class"])
    rounds = CounterMetricFamily("netmon_poll_rounds", "Rounds run.", labels=["poll_class"])
    overruns = CounterMetricFamily("netmon_poll_overruns", "Rounds skipped (overrun).", labels=["poll_class"])
    last = GaugeMetricFamily(
        "netmon_poll_last_round_timestamp_seconds", "End of the last round (Unix time).", labels=["poll_class"]
    )
    interval = GaugeMetricFamily("netmon_poll_interval_seconds", "Configured interval.", labels=["poll_class"])
    for name, stat in stats.items():
        interval.add_metric([name], stat.interval)
        rounds.add_metric([name], stat.rounds)
        overruns.add_metric([name], stat.overruns)
        if stat.last_lag is not None:
            lag.add_metric([name], stat.last_lag)
        if stat.last_end is not None:
            last.add_metric([name], stat.last_end)
    yield from (lag, rounds, overruns, last, interval)
