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

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from netmon import __version__
from netmon.kernel import utcnow
from netmon.monitor.latest import MetricsView
from netmon.monitor.live import LiveState
from netmon.monitor.scheduler import RoundStats
from netmon.monitor.state import State
from netmon.pollers import registry
from netmon.pollers.traps import COUNTS as TRAP_COUNTS
from netmon.pollers.traps import TrapReceiver
from netmon.sinks.mqtt import MqttPublisher
from netmon.sinks.services import live_service_metrics

__all__ = ["IndicatorGauge", "Instruments", "LiveCollector"]

_STATES = [state.value for state in State if state is not State.REMOVED]

#: One indicator value for the gauges: (indicator, unit, level, a, b); b is None for plain counts.
IndicatorGauge = tuple[str, str, str, float, float | None]


@dataclass(frozen=True)
class Instruments:
    """The daemon's own instruments, updated where things happen (not in collect())."""

    round_duration: Histogram
    samples: Counter
    db_write: Histogram
    poison: Counter

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
        )


class LiveCollector(Collector):
    """Exports the live view: devices, interfaces, links, outages, rounds, indicators."""

    def __init__(
        self,
        live: Callable[[], LiveState],
        stats: Callable[[], Mapping[str, RoundStats]],
        indicators: Callable[[], list[IndicatorGauge]] | None = None,
    ) -> None:
        self._live = live
        self._stats = stats
        self._indicators = indicators

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family from the in-memory view."""
        live = self._live()
        build = GaugeMetricFamily("netmon_build_info", "netmon version.", labels=["version", "python"])
        build.add_metric([__version__, platform.python_version()], 1)
        yield build
        yield from _inventory(live)
        yield from _devices(live)
        yield from _poll_classes(live)
        yield from _links(live)
        yield from live_service_metrics(live, utcnow())
        yield from _rounds(self._stats())
        if self._indicators is not None:
            yield from _indicator_metrics(self._indicators())


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
    units = GaugeMetricFamily("netmon_unit_info", "One series per unit.", labels=["unit", "name", "level", "parent"])
    for code, unit in inv.units.items():
        units.add_metric([code, unit.name, unit.level.value, unit.parent or ""], 1)
    yield units
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


def _devices(live: LiveState) -> Iterator[Metric]:
    labels = ["device", "unit", "level", "role"]
    up = GaugeMetricFamily("netmon_device_up", "1 when the device is up.", labels=labels)
    state = GaugeMetricFamily("netmon_device_state", "1 for the device's current state.", labels=[*labels, "state"])
    flapping = GaugeMetricFamily("netmon_device_flapping", "1 while the device flaps.", labels=labels)
    units = live.inventory.units
    for name, device in live.inventory.devices.items():
        if not device.enabled:
            continue
        values = [name, device.unit, units[device.unit].level.value, device.role.value]
        memory = live.state_of(("device", name))
        up.add_metric(values, 1 if memory.state is State.UP else 0)
        for option in _STATES:
            state.add_metric([*values, option], 1 if memory.state.value == option else 0)
        flapping.add_metric(values, 1 if memory.flapping else 0)
    yield from (up, state, flapping)


def _poll_classes(live: LiveState) -> Iterator[Metric]:
    """Yield each registered poll class's own families, read through the one freshness rule."""
    view = MetricsView(live, utcnow())
    for name in registry.names():
        yield from registry.class_of(name).export(view)


def _links(live: LiveState) -> Iterator[Metric]:
    labels = ["link", "kind", "unit", "level"]
    up = GaugeMetricFamily("netmon_link_up", "1 when the link is up.", labels=labels)
    state = GaugeMetricFamily("netmon_link_state", "1 for the link's current state.", labels=[*labels, "state"])
    flapping = GaugeMetricFamily("netmon_link_flapping", "1 while the link flaps.", labels=labels)
    capacity = GaugeMetricFamily("netmon_link_capacity_bytes", "Declared capacity, bytes per second.", labels=labels)
    info = GaugeMetricFamily(
        "netmon_link_info",
        "One series per link: joins a link to its device interface.",
        labels=[*labels, "device", "interface"],
    )
    units = live.inventory.units
    for name, link in live.inventory.links.items():
        values = [name, link.kind.value, link.unit, units[link.unit].level.value]
        memory = live.state_of(("link", name))
        up.add_metric(values, 1 if memory.state is State.UP else 0)
        for option in _STATES:
            state.add_metric([*values, option], 1 if memory.state.value == option else 0)
        flapping.add_metric(values, 1 if memory.flapping else 0)
        if link.capacity_mbps is not None:
            capacity.add_metric(values, link.capacity_mbps * 125_000)
        info.add_metric([*values, link.device or "", link.interface or ""], 1)
    yield from (up, state, flapping, capacity, info)


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


def _indicator_metrics(rows: list[IndicatorGauge]) -> Iterator[Metric]:
    labels = ["indicator", "unit", "level"]
    ratio = GaugeMetricFamily("netmon_indicator_ratio", "Live indicator value a/b (absent when b = 0).", labels=labels)
    numerator = GaugeMetricFamily("netmon_indicator_numerator", "Indicator numerator a.", labels=labels)
    denominator = GaugeMetricFamily("netmon_indicator_denominator", "Indicator denominator b.", labels=labels)
    for indicator, unit, level, a, b in rows:
        numerator.add_metric([indicator, unit, level], a)
        if b is not None:
            denominator.add_metric([indicator, unit, level], b)
            if b:
                ratio.add_metric([indicator, unit, level], a / b)
    yield from (ratio, numerator, denominator)
