"""Link traffic from counters (netmon.monitor.rates over pollers/counters.py), as the API's links show it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from netmon.config import Config
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.kernel import Status
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.pollers.samples import InterfaceRow, InterfacesSample, SystemSample

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
W32, W64 = 2**32, 2**64


def _live() -> LiveState:
    inventory = Inventory(
        units={"D": UnitSpec(code="D", name="Huyện", level=Level.DISTRICT)},
        devices={"d-r1": DeviceSpec(name="d-r1", unit="D", role=Role.ROUTER, address="127.0.0.3")},
        links={
            "d-man": LinkSpec(
                name="d-man", kind=LinkKind.MAN, unit="D", device="d-r1", interface="ge1", capacity_mbps=100
            )
        },
    )
    config = Config.model_validate({"polling": {"snmp": {"interval": 60}}})
    return LiveState(config, inventory, MaintenanceSchedule(inventory, ZoneInfo("Asia/Ho_Chi_Minh")))


def _sample(seconds: float, uptime: int, in_octets: int, out_octets: int, *, bits: int = 64) -> InterfacesSample:
    rows = (
        InterfaceRow(if_index=1, name="ge0", counter_bits=bits, in_octets=5, out_octets=5, speed_bps=10**9),
        InterfaceRow(
            if_index=2, name="ge1", counter_bits=bits, in_octets=in_octets, out_octets=out_octets, speed_bps=10**9
        ),
    )
    ts = T0 + timedelta(seconds=seconds)
    return InterfacesSample(device="d-r1", ts=ts, status=Status.OK, sys_uptime=uptime, interfaces=rows)


# (previous reading, current reading, expected (in bit/s, out bit/s)); readings: (uptime ticks, in, out, bits)
CASES = [
    pytest.param((0, 0, 0, 64), (6000, 750_000, 1_500_000, 64), (100_000.0, 200_000.0), id="plain"),
    pytest.param((0, W32 - 250_000, 0, 32), (6000, 500_000, 0, 32), (100_000.0, 0.0), id="32-bit-wrap"),
    pytest.param((0, W64 - 250_000, 0, 64), (6000, 500_000, 0, 64), (100_000.0, 0.0), id="64-bit-wrap"),
    pytest.param((600_000, 10**9, 10**9, 64), (3000, 1000, 1000, 64), (None, None), id="agent-restart"),
    pytest.param((0, 10**12, 0, 64), (6000, 10, 0, 64), (None, 0.0), id="counter-reset-above-speed"),
    pytest.param((0, 0, 0, 32), (6000, 750_000, 0, 64), (None, None), id="width-changed"),
]


@pytest.mark.parametrize(("before", "after", "expected"), CASES)
def test_link_traffic(before: tuple[int, int, int, int], after: tuple[int, int, int, int], expected: object) -> None:
    live = _live()
    live.record([_sample(0, before[0], before[1], before[2], bits=before[3])])
    assert live.link_traffic("d-man", T0) == live.rates.traffic("d-man")  # known, but no rate from one reading
    traffic = live.rates.traffic("d-man")
    assert traffic is not None
    assert (traffic.in_bps, traffic.out_bps) == (None, None)
    live.record([_sample(60, after[0], after[1], after[2], bits=after[3])])
    traffic = live.link_traffic("d-man", T0 + timedelta(seconds=61))
    assert traffic is not None
    assert (traffic.in_bps, traffic.out_bps) == expected


def test_utilisation_is_of_the_declared_capacity() -> None:
    live = _live()
    live.record([_sample(0, 0, 0, 0)])
    live.record([_sample(60, 6000, 750_000 * 100, 0)])  # 10 Mbit/s in
    traffic = live.link_traffic("d-man", T0 + timedelta(seconds=61))
    assert traffic is not None
    assert traffic.utilisation(100) == (0.1, 0.0)
    assert traffic.utilisation(None) == (None, None)


def test_traffic_goes_with_its_sample() -> None:
    live = _live()
    live.record([_sample(0, 0, 0, 0), _sample(60, 6000, 750_000, 0)])
    assert live.link_traffic("d-man", T0 + timedelta(seconds=61)) is not None
    assert live.link_traffic("d-man", T0 + timedelta(seconds=60 + 181)) is None  # older than 2 x 60 s + 60 s
    live.record([SystemSample(device="d-r1", ts=T0 + timedelta(seconds=120), status=Status.TIMEOUT)])
    assert live.link_traffic("d-man", T0 + timedelta(seconds=121)) is None  # the agent stopped answering
