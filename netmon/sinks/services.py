"""Service metrics for /metrics, in blackbox_exporter's names where one exists (issue 11, item 5).

`service_metrics(samples, inventory, ...)` turns the newest check of each service into metric
families; it reads values only (no I/O), so a collector may call it on every scrape. Labels on
every series: `service`, `unit`, `level` (the unit's), `check` (http or tcp).

From the newest check, when it is fresh (younger than `fresh_for` seconds; an older check says
nothing about now and its series are left out, as snmp_exporter drops a failed walk; the live
view's `live_service_metrics` reads checks through `LatestSamples.fresh`, the one freshness rule):

- `netmon_probe_success`: 1 when the check passed (blackbox `probe_success`);
- `netmon_probe_duration_seconds`: the whole check (blackbox `probe_duration_seconds`);
- `netmon_probe_http_status_code`: the last response's status (blackbox `probe_http_status_code`);
- `netmon_probe_ssl_earliest_cert_expiry`: the peer certificate's notAfter in unix seconds
  (blackbox `probe_ssl_earliest_cert_expiry`; netmon reads the peer certificate only).

From the state engine (hysteresis and dependencies applied, as for devices):

- `netmon_service_up`, `netmon_service_state{state}` (one series: the current state, value 1),
  `netmon_service_flapping`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric

from netmon.inventory.spec import Inventory
from netmon.monitor.live import LiveState
from netmon.monitor.state import ObjectState, State
from netmon.pollers.service import ServiceSample

__all__ = ["LABELS", "live_service_metrics", "service_metrics"]

LABELS = ["service", "unit", "level", "check"]


def service_metrics(
    samples: Mapping[str, ServiceSample],
    inventory: Inventory,
    *,
    states: Mapping[str, ObjectState] | None = None,
    now: datetime,
    fresh_for: float | None,
) -> list[Metric]:
    """Return the metric families of every enabled service.

    *samples* maps a service name to its newest check; *states* maps it to the state engine's
    memory (absent: unknown). *now* is an aware UTC time; *fresh_for* is in seconds (None: *samples*
    are already the current ones).
    """
    up = GaugeMetricFamily("netmon_service_up", "1 when the service is up (state engine).", labels=LABELS)
    state = GaugeMetricFamily(
        "netmon_service_state", "1, with the service's current state as the state label.", labels=[*LABELS, "state"]
    )
    flapping = GaugeMetricFamily("netmon_service_flapping", "1 while the service flaps.", labels=LABELS)
    success = GaugeMetricFamily("netmon_probe_success", "1 when the last service check passed.", labels=LABELS)
    duration = GaugeMetricFamily(
        "netmon_probe_duration_seconds", "How long the last service check took.", labels=LABELS
    )
    status = GaugeMetricFamily(
        "netmon_probe_http_status_code", "HTTP status of the last check's response.", labels=LABELS
    )
    expiry = GaugeMetricFamily(
        "netmon_probe_ssl_earliest_cert_expiry",
        "notAfter of the TLS peer certificate, unix seconds.",
        labels=LABELS,
    )
    window = timedelta(seconds=fresh_for) if fresh_for is not None else None
    memories = states or {}
    for name, service in inventory.services.items():
        if not service.enabled:
            continue
        values = [name, service.unit, inventory.units[service.unit].level.value, service.check.value]
        memory = memories.get(name) or ObjectState()
        up.add_metric(values, 1 if memory.state is State.UP else 0)
        state.add_metric([*values, memory.state.value], 1)
        flapping.add_metric(values, 1 if memory.flapping else 0)
        sample = samples.get(name)
        if sample is None or (window is not None and now - sample.ts > window):
            continue
        success.add_metric(values, 1 if sample.ok else 0)
        duration.add_metric(values, sample.duration)
        if sample.http_status is not None:
            status.add_metric(values, sample.http_status)
        if sample.cert_not_after is not None:
            expiry.add_metric(values, sample.cert_not_after.timestamp())
    return [up, state, flapping, success, duration, status, expiry]


def live_service_metrics(live: LiveState, now: datetime) -> list[Metric]:
    """Return `service_metrics` of a live view: each service's current check (`LiveState.fresh`) and state.

    The http and tcp classes share these families, so they are exported here once (from
    `netmon.sinks.prometheus`) rather than by each class's `export()`, which would repeat them.
    """
    states = {name: live.state_of(("service", name)) for name in live.inventory.services}
    current: dict[str, ServiceSample] = {}
    for name in live.inventory.services:
        sample = live.fresh(name, ServiceSample.kind, now)
        if isinstance(sample, ServiceSample):
            current[name] = sample
    return service_metrics(current, live.inventory, states=states, now=now, fresh_for=None)
