"""The objects /metrics exports, one `Section` each: units, devices, each poll class, links, services, indicators.

A section names its objects with their standard labels and renders one object's series through a
`DeviceView` (`netmon.sinks.exposition`), which records what was read so that a scrape re-renders
only the objects whose samples or states changed. Names and labels follow docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from netmon.monitor.state import State
from netmon.pollers import registry
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.service import ServiceSample
from netmon.sinks.exposition import DEVICE_LABELS, DeviceView, Family, Lines, Path, Section, label_text

if TYPE_CHECKING:
    from netmon.indicators.row import IndicatorRow
    from netmon.inventory.spec import Inventory
    from netmon.monitor.live import LiveState

__all__ = ["sections"]

_MAIN: frozenset[Path] = frozenset(("main",))
_T = TypeVar("_T")
_Rows = list[tuple[str, tuple[str, ...]]]


class _Memo:
    """One inventory's object rows, computed once per inventory (a reload makes a new one)."""

    def __init__(self, build: Callable[[Inventory], _Rows]) -> None:
        self._build = build
        self._of: object = None
        self._rows: _Rows = []

    def rows(self, inventory: Inventory) -> _Rows:
        if inventory is not self._of:
            self._rows, self._of = self._build(inventory), inventory
        return self._rows


class _OfInventory:
    """A section whose objects are rows of the inventory, built once per inventory by *memo*."""

    def __init__(self, memo: _Memo) -> None:
        self._memo = memo

    def objects(self, live: LiveState) -> Iterable[tuple[str, tuple[str, ...]]]:
        return self._memo.rows(live.inventory)


def _unit_rows(inventory: Inventory) -> _Rows:
    return [(c, (c, u.name, u.level.value, u.parent or "")) for c, u in inventory.units.items()]


def _link_rows(inventory: Inventory) -> _Rows:
    units = inventory.units
    return [(name, (name, k.kind.value, k.unit, units[k.unit].level.value)) for name, k in inventory.links.items()]


def _service_rows(inventory: Inventory) -> _Rows:
    units = inventory.units
    return [
        (name, (name, s.unit, units[s.unit].level.value, s.check.value))
        for name, s in inventory.services.items()
        if s.enabled
    ]


def _device_rows(inventory: Inventory) -> _Rows:
    units = inventory.units
    return [
        (name, (name, device.unit, units[device.unit].level.value, device.role.value))
        for name, device in inventory.devices.items()
        if device.enabled
    ]


def _states(out: Lines, view: DeviceView, kind: str, names: Sequence[str], families: tuple[Family, ...]) -> str:
    """Write KIND_up, KIND_state{state} and KIND_flapping of (kind, view.name); return the label text.

    `KIND_state` is one series per object, `state` = its current state, value 1 (an info-style
    series, issue 12): when the state changes the old label set leaves the exposition and
    Prometheus marks it stale. The recording rules derive the state code from it
    (config/prometheus/rules/netmon-recording.yml).
    """
    up, state_family, flapping = families
    labels = label_text(names, view.labels)
    state, flaps = view.state_of(kind, view.name)
    out.add(up, labels, 1 if state == State.UP.value else 0)
    out.add(state_family, label_text((*names, "state"), (*view.labels, state)), 1)
    out.add(flapping, labels, 1 if flaps else 0)
    return labels


class Units(_OfInventory):
    """`netmon_unit_info{unit,name,level,parent}` 1 per unit."""

    name = "unit"
    paths = _MAIN
    _INFO = Family("netmon_unit_info", "One series per unit.")
    _LABELS = ("unit", "name", "level", "parent")

    def __init__(self) -> None:
        super().__init__(_Memo(_unit_rows))

    def render(self, view: DeviceView, out: Lines) -> None:
        out.add(self._INFO, label_text(self._LABELS, view.labels), 1)


class Devices(_OfInventory):
    """`netmon_device_up`, `netmon_device_state{state}` and `netmon_device_flapping` of every enabled device."""

    name = "device"
    paths = _MAIN
    _FAMILIES = (
        Family("netmon_device_up", "1 when the device is up."),
        Family("netmon_device_state", "1, with the device's current state as the state label."),
        Family("netmon_device_flapping", "1 while the device flaps."),
    )

    def render(self, view: DeviceView, out: Lines) -> None:
        _states(out, view, "device", DEVICE_LABELS, self._FAMILIES)


class PollClassSeries(_OfInventory):
    """The series a poll class exports for each enabled device (`PollClass.export`)."""

    def __init__(self, poll_class: str, devices: _Memo) -> None:
        super().__init__(devices)
        self.name = f"class:{poll_class}"
        self._class = registry.class_of(poll_class)
        self.paths: frozenset[Path] = self._class.metric_paths
        #: A class that keeps `BasePollClass.export` writes nothing for any device (the service
        #: checks: their samples are the services section's), and so has no objects to visit.
        self._silent = getattr(self._class.export, "__func__", None) is getattr(BasePollClass.export, "__func__", 0)

    def objects(self, live: LiveState) -> Iterable[tuple[str, tuple[str, ...]]]:
        return () if self._silent else super().objects(live)

    def render(self, view: DeviceView, out: Lines) -> None:
        self._class.export(view, out)


class Links(_OfInventory):
    """`netmon_link_{up,state,flapping,capacity_bytes,info}` of every link."""

    name = "link"
    paths = _MAIN
    _LABELS = ("link", "kind", "unit", "level")
    _FAMILIES = (
        Family("netmon_link_up", "1 when the link is up."),
        Family("netmon_link_state", "1, with the link's current state as the state label."),
        Family("netmon_link_flapping", "1 while the link flaps."),
    )
    _CAPACITY = Family("netmon_link_capacity_bytes", "Declared capacity, bytes per second.")
    _INFO = Family("netmon_link_info", "One series per link: joins a link to its device interface.")

    def __init__(self) -> None:
        super().__init__(_Memo(_link_rows))

    def render(self, view: DeviceView, out: Lines) -> None:
        labels = _states(out, view, "link", self._LABELS, self._FAMILIES)
        link = view.live.inventory.links[view.name]
        if link.capacity_mbps is not None:
            out.add(self._CAPACITY, labels, link.capacity_mbps * 125_000)
        names = (*self._LABELS, "device", "interface")
        out.add(self._INFO, label_text(names, (*view.labels, link.device or "", link.interface or "")), 1)


class Services(_OfInventory):
    """Service series, in blackbox_exporter's names where one exists (issue 11, item 5).

    Labels: `service`, `unit`, `level` (the unit's), `check` (http or tcp). From the service's
    current check (`LatestSamples.fresh`, the one freshness rule: a stale check says nothing
    about now and its series leave, as snmp_exporter drops a failed walk):
    `netmon_probe_success`, `netmon_probe_duration_seconds`, `netmon_probe_http_status_code`,
    `netmon_probe_ssl_earliest_cert_expiry` (the peer certificate's notAfter, unix seconds).
    From the state engine: `netmon_service_up`, `netmon_service_state{state}` (one series, the
    current state) and `netmon_service_flapping`.
    """

    name = "service"
    paths = _MAIN
    _LABELS = ("service", "unit", "level", "check")
    _FAMILIES = (
        Family("netmon_service_up", "1 when the service is up (state engine)."),
        Family("netmon_service_state", "1, with the service's current state as the state label."),
        Family("netmon_service_flapping", "1 while the service flaps."),
    )
    _SUCCESS = Family("netmon_probe_success", "1 when the last service check passed.")
    _DURATION = Family("netmon_probe_duration_seconds", "How long the last service check took.")
    _STATUS = Family("netmon_probe_http_status_code", "HTTP status of the last check's response.")
    _EXPIRY = Family("netmon_probe_ssl_earliest_cert_expiry", "notAfter of the TLS peer certificate, unix seconds.")

    def __init__(self) -> None:
        super().__init__(_Memo(_service_rows))

    def render(self, view: DeviceView, out: Lines) -> None:
        labels = _states(out, view, "service", self._LABELS, self._FAMILIES)
        sample = view.fresh(ServiceSample.kind)
        if not isinstance(sample, ServiceSample):
            return
        out.add(self._SUCCESS, labels, 1 if sample.ok else 0)
        out.add(self._DURATION, labels, sample.duration)
        if sample.http_status is not None:
            out.add(self._STATUS, labels, sample.http_status)
        if sample.cert_not_after is not None:
            out.add(self._EXPIRY, labels, sample.cert_not_after.timestamp())


class _OneObject(Generic[_T]):
    """A section of one object, whose kept text holds while *source* returns the same object (its `stamp`)."""

    name: str
    paths = _MAIN

    def __init__(self, source: Callable[[], _T]) -> None:
        self._source = source

    def stamp(self) -> _T:
        """Return what *source* returns now: the kept text holds while it is the same object."""
        return self._source()

    def objects(self, live: LiveState) -> Iterable[tuple[str, tuple[str, ...]]]:
        return [(self.name, ())]


class Indicators(_OneObject[Sequence["IndicatorRow"]]):
    """Live indicator gauges: per level (a and b summed over the level's units) or per unit (`metrics.indicators`).

    The rows (`IndicatorRow`: indicator, label, level, a, b) are the indicator loop's, recomputed
    after a ping round that changed their inputs (`netmon.monitor.loops.indicator_loop`) and read
    as they are, not copied; the section's one object is re-rendered when that list is replaced
    (its `stamp`).
    """

    name = "indicators"
    _RATIO = Family("netmon_indicator_ratio", "Live indicator value a/b (absent when b = 0).")
    _A = Family("netmon_indicator_numerator", "Indicator numerator a.")
    _B = Family("netmon_indicator_denominator", "Indicator denominator b.")

    def __init__(self, rows: Callable[[], Sequence[IndicatorRow]], per: Callable[[], str]) -> None:
        super().__init__(rows)
        self._per = per

    def render(self, view: DeviceView, out: Lines) -> None:
        rows, per = self._source(), self._per()
        if per == "off":
            return
        if per == "unit":
            for row in rows:
                labels = label_text(("indicator", "unit", "level"), (row.indicator, row.label, row.level))
                self._write(out, labels, row.a, row.b)
            return
        numerators: dict[tuple[str, str], float] = defaultdict(float)
        denominators: dict[tuple[str, str], float] = {}
        for row in rows:
            key = (row.indicator, row.level)
            numerators[key] += row.a
            if row.b is not None:
                denominators[key] = denominators.get(key, 0.0) + row.b
        for (indicator, level), a in numerators.items():
            b = denominators.get((indicator, level))
            self._write(out, label_text(("indicator", "level"), (indicator, level)), a, b)

    def _write(self, out: Lines, labels: str, a: float, b: float | None) -> None:
        out.add(self._A, labels, a)
        if b is not None:
            out.add(self._B, labels, b)
            if b:
                out.add(self._RATIO, labels, a / b)


class Neighbours(_OneObject[Mapping[str, int]]):
    """`netmon_topology_neighbours{device}`: the LLDP/CDP neighbours each device listed at the last topology poll.

    *counts* gives the topology watch's mapping, which each poll replaces (`TopologyWatch.poll`):
    the section's one object is rendered again when it is another mapping (its `stamp`). Through
    prometheus_client these 5,000 series (at 10k devices) were built at every scrape, in one step
    of the event loop of 57 to 95 ms (issue 12).
    """

    name = "topology"
    _FAMILY = Family("netmon_topology_neighbours", "LLDP/CDP neighbours a device lists.")

    def render(self, view: DeviceView, out: Lines) -> None:
        for device, count in sorted(self._source().items()):
            out.add(self._FAMILY, label_text(("device",), (device,)), count)


def sections(
    rows: Callable[[], Sequence[IndicatorRow]] | None = None,
    per: Callable[[], str] = lambda: "level",
    neighbours: Callable[[], Mapping[str, int]] | None = None,
) -> list[Section]:
    """Return the sections of /metrics and /metrics/interfaces, in exposition order.

    *rows* gives the live indicator values; *per* is `metrics.indicators` (level, unit or off);
    *neighbours* the topology watch's neighbour counts per device.
    """
    devices = _Memo(_device_rows)  # the device section and every poll class's: one list per inventory
    out: list[Section] = [Units(), Devices(devices)]
    out += [PollClassSeries(name, devices) for name in registry.names()]
    out += [Links(), Services()]
    if rows is not None:
        out.append(Indicators(rows, per))
    if neighbours is not None:
        out.append(Neighbours(neighbours))
    return out
