"""Services in the state engine: hysteresis as devices, dependency on their device, maintenance, MQTT topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from netmon.config import Config
from netmon.inventory.models import Level, Role, ServiceCheck
from netmon.inventory.spec import DeviceSpec, Inventory, ServiceSpec, UnitSpec
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.monitor.outages import Written
from netmon.monitor.rounds import RoundResult
from netmon.monitor.state import State
from netmon.monitor.topology import Topology
from netmon.pollers.base import PingSample, Sample, Status
from netmon.pollers.service import ServiceSample
from netmon.sinks.events import messages_for

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
STEP = timedelta(seconds=60)


def _inventory() -> Inventory:
    units = [UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)]
    devices = [DeviceSpec(name="srv1", unit="P", role=Role.SERVER, address="127.0.0.2")]
    services = [
        ServiceSpec(name="portal", unit="P", check=ServiceCheck.HTTP, device="srv1", url="https://127.0.0.2/"),
        ServiceSpec(name="mail", unit="P", check=ServiceCheck.TCP, address="127.0.0.3:25"),
        ServiceSpec(name="old", unit="P", check=ServiceCheck.TCP, address="127.0.0.3:26", enabled=False),
    ]
    return Inventory(
        units={u.code: u for u in units},
        devices={d.name: d for d in devices},
        links={},
        services={s.name: s for s in services},
    )


def _live(*windows: Window) -> LiveState:
    config = Config.model_validate({"state": {"down_after": 2, "up_after": 2}})
    inventory = _inventory()
    return LiveState(config, inventory, MaintenanceSchedule(inventory, ZONE, windows))


def _check(name: str, ts: datetime, *, ok: bool) -> ServiceSample:
    return ServiceSample(device=name, ts=ts, status=Status.OK if ok else Status.REFUSED, check=ServiceCheck.TCP)


def _round(live: LiveState, poll_class: str, samples: list[Sample], ts: datetime) -> list[str]:
    live.record(samples)
    result = RoundResult(poll_class=poll_class, started=ts, duration=0.1, samples=tuple(samples))
    return [
        f"{t.kind}:{t.name}:{t.new}" + (f"<{t.root_cause}" if t.root_cause else "") for t in live.conclude(result, ts)
    ]


def test_topology_makes_a_service_depend_on_its_device() -> None:
    topology = Topology.build(_inventory())
    assert topology.depends_on[("service", "portal")] == (("device", "srv1"),)
    assert topology.depends_on[("service", "mail")] == ()
    assert ("service", "old") not in topology.depends_on  # disabled: not monitored
    assert topology.unit_of[("service", "mail")] == "P"


def test_a_service_goes_down_after_the_hysteresis_and_comes_back() -> None:
    live = _live()
    seen = [
        _round(live, "tcp", [_check("mail", T0 + i * STEP, ok=ok)], T0 + i * STEP)
        for i, ok in enumerate([True, False, False, True, True])
    ]
    assert seen == [["service:mail:up"], [], ["service:mail:down"], [], ["service:mail:up"]]
    assert live.services["mail"].status is Status.OK
    assert live.open_outages() == {}


def test_the_open_outage_counts_follow_every_change_when_asked_after_each_round() -> None:
    """The counts are kept between changes (a scrape asks every 15 s): each change must show at once."""
    live = _live()
    counts = []
    for i, ok in enumerate([True, False, False, True, True]):  # down after 2 failures, up after 2 successes
        _round(live, "tcp", [_check("mail", T0 + i * STEP, ok=ok)], T0 + i * STEP)
        answer = live.open_outages()
        counts.append(dict(answer))
        answer[("service", "down")] += 5  # the caller's copy: not the kept counts
    assert counts == [{}, {}, {("service", "down"): 1}, {("service", "down"): 1}, {}]
    live.engine.restore(("service", "mail"), State.DOWN, T0)  # a restart's restore is a change too
    assert live.open_outages() == {("service", "down"): 1}


def test_a_service_behind_a_down_device_is_unreachable() -> None:
    live = _live()
    rounds = []
    for i in range(3):
        ts = T0 + i * STEP
        ok = i == 0
        rounds.append(
            _round(live, "ping", [PingSample(device="srv1", ts=ts, status=Status.OK if ok else Status.TIMEOUT)], ts)
        )
        rounds.append(_round(live, "http", [_check("portal", ts, ok=ok)], ts))
    assert rounds == [
        ["device:srv1:up"],
        ["service:portal:up"],
        [],
        [],
        ["device:srv1:down"],
        ["service:portal:unreachable<srv1"],
    ]
    assert live.open_outages() == {("device", "down"): 1, ("service", "unreachable"): 1}


def test_a_service_in_maintenance_and_a_unit_window_covers_its_services() -> None:
    window = Window(name="nâng cấp", objects=("unit:P",), starts_at=T0, ends_at=T0 + timedelta(hours=1))
    live = _live(window)
    assert sorted(_round(live, "tcp", [_check("mail", T0, ok=False)], T0)) == [
        "device:srv1:maintenance",
        "service:mail:maintenance",
        "service:portal:maintenance",
    ]


def test_a_sample_of_an_unknown_or_disabled_service_is_ignored() -> None:
    live = _live()
    assert _round(live, "tcp", [_check("old", T0, ok=False), _check("ghost", T0, ok=False)], T0) == []
    assert live.services == {}


def test_service_transitions_have_an_event_and_a_retained_state_topic() -> None:
    live = _live()
    _round(live, "tcp", [_check("mail", T0, ok=True)], T0)
    transitions = []
    for i in (1, 2):
        sample = _check("mail", T0 + i * STEP, ok=False)
        live.record([sample])
        result = RoundResult(poll_class="tcp", started=sample.ts, duration=0, samples=(sample,))
        transitions = live.conclude(result, sample.ts)
    # outage events come from what the ledger wrote (test_service_outages); here, nothing was written
    topics = [m.topic for m in messages_for([Written(transition=t) for t in transitions], "netmon")]
    assert topics == ["netmon/events/transition", "netmon/state/service/mail"]
