"""Topology, link observations and maintenance windows: tables of cases with expected outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from netmon.config import Config, MaintenanceConfig, load_config
from netmon.errors import ConfigError
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.kernel import Sample, Status
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule, Window
from netmon.monitor.rounds import RoundResult
from netmon.monitor.state import State
from netmon.monitor.topology import Topology, interface_key
from netmon.pollers.samples import InterfaceRow, InterfacesSample, PingSample

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _inventory() -> Inventory:
    units = [
        UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE),
        UnitSpec(code="D", name="Huyện", level=Level.DISTRICT, parent="P"),
        UnitSpec(code="W", name="Xã", level=Level.COMMUNE, parent="D"),
    ]
    devices = [
        DeviceSpec(name="p-r1", unit="P", role=Role.ROUTER, address="127.0.0.2"),
        DeviceSpec(name="d-r1", unit="D", role=Role.ROUTER, address="127.0.0.3", parent="p-r1"),
        DeviceSpec(name="w-r1", unit="W", role=Role.ROUTER, address="127.0.0.4", parent="d-r1"),
    ]
    links = [
        LinkSpec(name="d-internet", kind=LinkKind.INTERNET, unit="D", device="d-r1", interface="ge0"),
        LinkSpec(name="d-man", kind=LinkKind.MAN, unit="D", device="d-r1", interface="ge1"),
        LinkSpec(name="d-tslcd", kind=LinkKind.TSLCD, unit="D", device="d-r1", interface="ge2"),
        LinkSpec(name="w-tslcd", kind=LinkKind.TSLCD, unit="W", device="w-r1"),
        LinkSpec(name="w-lan", kind=LinkKind.LAN, unit="W"),
    ]
    return Inventory(
        units={u.code: u for u in units}, devices={d.name: d for d in devices}, links={k.name: k for k in links}
    )


def test_a_device_is_reached_through_its_first_uplink_kind_and_other_links_hang_off_it() -> None:
    topology = Topology.build(_inventory())
    assert dict(topology.path_link) == {"d-r1": "d-man", "w-r1": "w-tslcd"}  # man before tslcd and internet
    assert topology.depends_on[("link", "d-man")] == (("device", "p-r1"),)
    assert topology.depends_on[("device", "d-r1")] == (("link", "d-man"),)
    assert topology.depends_on[("link", "d-tslcd")] == (("device", "d-r1"),)
    assert topology.depends_on[("link", "w-tslcd")] == (("device", "d-r1"),)
    assert topology.depends_on[("device", "w-r1")] == (("link", "w-tslcd"),)
    assert topology.depends_on[("link", "w-lan")] == ()  # declared only: no device, never observed


def test_the_uplink_order_is_configurable() -> None:
    topology = Topology.build(_inventory(), (LinkKind.TSLCD, LinkKind.MAN))
    assert topology.path_link["d-r1"] == "d-tslcd"


def _live(**state: object) -> LiveState:
    config = Config.model_validate({"state": {"down_after": 1, "up_after": 1, **state}})
    inventory = _inventory()
    return LiveState(config, inventory, MaintenanceSchedule(inventory, ZONE))


def _round(live: LiveState, poll_class: str, samples: list[Sample], ts: datetime) -> list[str]:
    live.record(samples)
    result = RoundResult(poll_class=poll_class, started=ts, duration=0.1, samples=tuple(samples))
    return [f"{t.name}:{t.new}" for t in live.conclude(result, ts)]


def _ping(device: str, ok: bool, ts: datetime = T0) -> PingSample:
    return PingSample(device=device, ts=ts, status=Status.OK if ok else Status.TIMEOUT, sent=1, received=int(ok))


def _ifaces(device: str, rows: dict[str, tuple[int, int]], ts: datetime = T0) -> InterfacesSample:
    made = [
        InterfaceRow(if_index=i, name=name, oper_status=oper, admin_status=admin)
        for i, (name, (oper, admin)) in enumerate(rows.items(), 1)
    ]
    return InterfacesSample(device=device, ts=ts, status=Status.OK, interfaces=tuple(made))


@pytest.mark.parametrize(
    ("ping_ok", "ge1", "expected"),
    [
        pytest.param(True, None, State.UP, id="answers-no-interface-data"),
        pytest.param(True, (1, 1), State.UP, id="answers-interface-up"),
        pytest.param(True, (2, 1), State.DOWN, id="answers-but-oper-down-while-admin-up"),
        pytest.param(True, (2, 2), State.UNKNOWN, id="shut-down-on-purpose-is-not-judged"),
        pytest.param(False, (1, 1), State.DOWN, id="far-end-silent-despite-old-interface-reading"),
        pytest.param(False, None, State.DOWN, id="far-end-silent"),
    ],
)
def test_a_link_follows_its_interface_and_its_far_end(
    ping_ok: bool, ge1: tuple[int, int] | None, expected: State
) -> None:
    live = _live()
    _round(live, "ping", [_ping("p-r1", ok=True)], T0)
    if ge1 is not None:
        _round(live, "snmp", [_ifaces("d-r1", {"ge0": (1, 1), "ge1": ge1})], T0)
    _round(live, "ping", [_ping("d-r1", ok=ping_ok)], T0 + timedelta(seconds=1))
    assert live.state_of(("link", "d-man")).state is expected
    if not ping_ok:
        assert live.state_of(("device", "d-r1")).state is State.UNREACHABLE
        assert live.state_of(("device", "d-r1")).root_cause == "d-man"


def test_interfaces_are_decided_in_one_round_and_belong_to_their_device() -> None:
    live = _live(down_after=3, up_after=2)
    assert _round(live, "ping", [_ping("d-r1", ok=True), _ping("p-r1", ok=True)], T0) == [
        "p-r1:up",
        "d-man:up",
        "d-r1:up",
        "d-internet:up",
        "d-tslcd:up",
    ]
    assert _round(live, "snmp", [_ifaces("d-r1", {"ge0": (1, 1)})], T0) == ["d-r1:ge0:up"]
    assert _round(live, "snmp", [_ifaces("d-r1", {"ge0": (2, 1)})], T0 + timedelta(seconds=1)) == ["d-r1:ge0:down"]


def test_a_stale_interface_reading_is_ignored() -> None:
    live = _live()
    _round(live, "snmp", [_ifaces("d-r1", {"ge1": (2, 1)}, ts=T0)], T0)
    later = T0 + timedelta(hours=1)
    _round(live, "ping", [_ping("p-r1", ok=True, ts=later), _ping("d-r1", ok=True, ts=later)], later)
    assert live.state_of(("link", "d-man")).state is State.UP


@pytest.mark.parametrize(
    ("window", "now", "active"),
    [
        pytest.param({"start": "2026-12-01T22:00:00+07:00", "end": "2026-12-02T02:00:00+07:00"},
                     "2026-12-01T15:30:00+00:00", True, id="one-off-inside"),
        pytest.param({"start": "2026-12-01T22:00:00+07:00", "end": "2026-12-02T02:00:00+07:00"},
                     "2026-12-01T19:00:00+00:00", False, id="one-off-end-is-exclusive"),
        pytest.param({"every": "daily", "at": "23:00", "duration": 7200},
                     "2026-12-01T17:30:00+00:00", True, id="daily-crosses-local-midnight"),
        pytest.param({"every": "daily", "at": "23:00", "duration": 7200},
                     "2026-12-01T15:59:00+00:00", False, id="daily-before-it-starts"),
        pytest.param({"every": "weekly", "days": ["sat"], "at": "08:00", "duration": 3600},
                     "2026-11-28T01:30:00+00:00", True, id="weekly-on-saturday-local"),
        pytest.param({"every": "weekly", "days": ["sat"], "at": "08:00", "duration": 3600},
                     "2026-11-27T01:30:00+00:00", False, id="weekly-not-on-friday"),
    ],
)  # fmt: skip
def test_maintenance_windows_in_the_local_zone(window: dict[str, object], now: str, active: bool) -> None:
    cfg = MaintenanceConfig.model_validate({"name": "w", "objects": ["unit:D"], **window})
    assert Window.from_config(cfg).active(datetime.fromisoformat(now), ZONE) is active


def test_a_unit_window_covers_the_units_below_and_unknown_names_are_refused() -> None:
    schedule = MaintenanceSchedule(_inventory(), ZONE)
    window = Window(name="w", objects=("unit:D",), starts_at=T0, ends_at=T0 + timedelta(hours=1))
    assert schedule.check(window) == {
        ("device", "d-r1"),
        ("device", "w-r1"),
        ("link", "d-internet"),
        ("link", "d-man"),
        ("link", "d-tslcd"),
        ("link", "w-tslcd"),
        ("link", "w-lan"),
    }
    with pytest.raises(ConfigError, match="not in the inventory: device:ghost"):
        schedule.check(Window(name="x", objects=("device:ghost",), starts_at=T0, ends_at=T0 + timedelta(hours=1)))


@pytest.mark.parametrize(
    ("window", "message"),
    [
        pytest.param({"every": "weekly", "at": "08:00", "duration": 60}, "needs days", id="weekly-without-days"),
        pytest.param({"start": "2026-12-01T22:00:00"}, "needs start and end", id="one-off-without-end"),
        pytest.param({"start": "2026-12-01T22:00:00", "end": "2026-12-02T01:00:00"}, "UTC offset", id="naive"),
        pytest.param({"every": "daily", "at": "08:00"}, "duration", id="recurring-without-duration"),
    ],
)
def test_bad_windows_are_refused_in_the_config(window: dict[str, object], message: str, tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(yaml.safe_dump({"maintenance": [{"name": "w", "objects": ["unit:D"], **window}]}), "utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, environ={})
    assert f"{path}:2: maintenance[0]: " in str(caught.value)


def _rows(device: str, rows: list[tuple[int, str, int]], ts: datetime = T0) -> InterfacesSample:
    made = [InterfaceRow(if_index=i, name=name, oper_status=oper, admin_status=1) for i, name, oper in rows]
    return InterfacesSample(device=device, ts=ts, status=Status.OK, interfaces=tuple(made))


def test_interfaces_with_one_name_keep_their_own_state() -> None:
    live = _live()
    rows = [(1, "ethernet0/0", 1), (2, "ethernet0/0", 2), (3, "ethernet0/0", 1), (7, "ge0", 1)]
    changes = _round(live, "snmp", [_rows("d-r1", rows)], T0)
    assert sorted(changes) == [
        "d-r1:ethernet0/0#1:up",
        "d-r1:ethernet0/0#2:down",
        "d-r1:ethernet0/0#3:up",
        "d-r1:ge0:up",
    ]


@pytest.mark.parametrize(
    ("interface", "rows", "expected", "problem"),
    [
        pytest.param("ge1", [(1, "ge1", 2), (2, "ge1", 1)], State.UP, True, id="ambiguous-name-is-not-judged"),
        pytest.param("ge1#1", [(1, "ge1", 2), (2, "ge1", 1)], State.DOWN, False, id="identity-names-one"),
        pytest.param("ge1#2", [(1, "ge1", 2), (2, "ge1", 1)], State.UP, False, id="identity-names-the-other"),
        pytest.param("ge1", [(1, "ge1", 2), (2, "ge9", 1)], State.DOWN, False, id="unique-name"),
    ],
)
def test_a_link_on_a_duplicated_interface_name(
    interface: str, rows: list[tuple[int, str, int]], expected: State, problem: bool
) -> None:
    config = Config.model_validate({"state": {"down_after": 1, "up_after": 1}})
    inventory = _inventory()
    links = dict(inventory.links)
    links["d-man"] = LinkSpec(name="d-man", kind=LinkKind.MAN, unit="D", device="d-r1", interface=interface)
    inventory = Inventory(units=inventory.units, devices=inventory.devices, links=links)
    live = LiveState(config, inventory, MaintenanceSchedule(inventory, ZONE))
    _round(live, "ping", [_ping("p-r1", ok=True)], T0)
    _round(live, "snmp", [_rows("d-r1", rows)], T0)
    _round(live, "ping", [_ping("d-r1", ok=True)], T0 + timedelta(seconds=1))
    assert live.state_of(("link", "d-man")).state is expected
    if problem:
        assert live.link_problems == {
            "d-man": "interface 'ge1' is ambiguous on d-r1: ge1#1, ge1#2; name one of them in the link"
        }
    else:
        assert live.link_problems == {}


@pytest.mark.parametrize(
    ("device", "interface"),
    [
        pytest.param("d" * 64, "x" * 255, id="longest-ifdescr"),
        pytest.param("d" * 64, "x" * 190, id="one-over"),
        pytest.param("d" * 64, "x" * 189 + "#12", id="duplicate-suffix-pushes-over"),
    ],
)
def test_interface_keys_fit_the_state_table_and_stay_unique(device: str, interface: str) -> None:
    key = interface_key(device, interface)[1]
    other = interface_key(device, interface[:-1] + "y")[1]
    assert len(key) <= 255
    assert key != other
    assert key.startswith(f"{device}:xxx")
    assert interface_key(device, "ge0") == ("interface", f"{device}:ge0")


def test_ready_once_every_device_has_its_first_ping_sample_and_the_reason_names_the_rest() -> None:
    """Issue 12: readiness does not wait for the round's end, only for every device's first sample."""
    live = _live()
    (reason,) = live.not_ready()
    assert "3 of 3 devices" in reason
    assert all(name in reason for name in ("d-r1", "p-r1", "w-r1"))
    live.record([_ping("p-r1", ok=True), _ping("w-r1", ok=False)])  # a timeout is a sample too
    (reason,) = live.not_ready()
    assert "1 of 3 devices still awaited (d-r1)" in reason
    assert "p-r1" not in reason
    live.record([_ping("d-r1", ok=True)])
    assert live.not_ready() == []
    assert live.rounds["ping"] == 0  # ready before the first round is concluded


def test_ready_after_the_first_round_even_for_a_device_ping_gave_no_sample() -> None:
    live = _live()
    _round(live, "ping", [_ping("p-r1", ok=True)], T0)
    assert live.not_ready() == []


def test_a_reload_adopts_states_under_the_new_topology_and_leaves_the_old_view_as_it_was() -> None:
    # w-r1 hangs off d-r1, then (the reload) off p-r1: when d-r1 and w-r1 go silent together, w-r1's
    # uplink w-tslcd is down in its own right, no longer unreachable behind d-r1
    old = _live()
    _round(old, "ping", [_ping(name, ok=True) for name in ("p-r1", "d-r1", "w-r1")], T0)
    _round(old, "snmp", [_ifaces("d-r1", {"ge0": (1, 1)})], T0)
    inventory = _inventory()
    devices = {**inventory.devices, "w-r1": inventory.devices["w-r1"].model_copy(update={"parent": "p-r1"})}
    moved = Inventory(units=inventory.units, devices=devices, links=inventory.links)
    config = Config.model_validate({"state": {"down_after": 1, "up_after": 1}})
    new = LiveState(config, moved, MaintenanceSchedule(moved, ZONE))
    assert new.adopt(old) == []
    ge0 = interface_key("d-r1", "ge0")
    assert [new.state_of(key).state for key in (("device", "w-r1"), ("link", "w-tslcd"), ge0)] == [State.UP] * 3
    later = T0 + timedelta(seconds=1)
    silent: list[Sample] = [
        _ping("p-r1", ok=True, ts=later),
        _ping("d-r1", ok=False, ts=later),
        _ping("w-r1", ok=False, ts=later),
    ]
    _round(new, "ping", silent, later)
    assert new.state_of(("link", "w-tslcd")).state is State.DOWN
    assert (new.state_of(("device", "w-r1")).state, new.state_of(("device", "w-r1")).root_cause) == (
        State.UNREACHABLE,
        "w-tslcd",
    )
    # the old view was not touched by the new one's round
    assert [old.state_of(("device", name)).state for name in ("d-r1", "w-r1")] == [State.UP, State.UP]
