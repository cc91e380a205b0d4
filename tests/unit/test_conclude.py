"""A round's conclusion in steps: the same transitions as in one piece, with the event loop given back between steps."""

from __future__ import annotations

from datetime import timedelta

from netmon.kernel import Status
from netmon.monitor.live import LiveState
from netmon.monitor.rounds import RoundResult
from netmon.monitor.state import STEP, Transition
from netmon.pollers.samples import InterfacesSample, PingSample, SystemSample
from tests.monitoring import LoopTicks
from tests.unit.test_exposition import T0, _live, _rows

DEVICES = 1500  # x 4 ports: 6,000 interface objects, three steps of the engine and one of the devices


def _world() -> tuple[LiveState, list[RoundResult]]:
    live, _ = _live(devices=DEVICES, ports=4)
    results = []
    for k, up in enumerate((True, True, False)):  # unknown -> up, stay up, then every other port down
        ts = T0 + timedelta(seconds=60 * k)
        samples = []
        for i, name in enumerate(live.inventory.devices):
            rows = (
                _rows(4) if up or i % 2 else tuple(r.__class__(**{**r.to_dict(), "oper_status": 2}) for r in _rows(4))
            )
            samples += [
                PingSample(device=name, ts=ts, status=Status.OK, sent=1, received=1, rtt_avg=0.001),
                SystemSample(device=name, ts=ts, status=Status.OK, sys_uptime=100 + k),
                InterfacesSample(device=name, ts=ts, status=Status.OK, interfaces=rows),
            ]
        results.append(RoundResult(poll_class="snmp", started=ts, duration=1.0, samples=tuple(samples)))
    return live, results


def _keys(transitions: list[Transition]) -> list[tuple[str, str, str, str]]:
    return [(t.kind, t.name, t.old.value, t.new.value) for t in transitions]


async def test_a_stepped_conclusion_gives_the_same_transitions_and_lets_other_tasks_run() -> None:
    assert DEVICES * 4 > 2 * STEP
    whole, results = _world()
    stepped, _ = _world()
    for result in results:
        whole.record(result.samples)
        stepped.record(result.samples)
        expected = _keys(whole.conclude(result, result.started))
        async with LoopTicks() as ticks:
            got = _keys(await stepped.conclude_async(result, result.started))
        assert got == expected
        assert ticks.count > 0  # the loop ran other tasks while the round was concluded
    assert any(new == "down" for *_, new in expected)  # the last round took half the ports down


def test_a_step_is_bounded_in_objects_not_in_devices() -> None:
    """A step handles about `STEP` objects however many ports a device has (a 48-port switch is 49 objects).

    Counting devices made one step of an SNMP round at 10k devices 34,000 objects: 150 to 250 ms on the loop.
    """
    live, results = _world()
    result = results[0]
    live.record(result.samples)
    yields = sum(1 for _ in live.conclude_steps(result, result.started))
    gathered, observed = DEVICES * 4, len(live.engine.objects)  # interface observations, then every object
    assert observed >= DEVICES * 5  # the devices and their ports (and the links of the world)
    assert yields >= gathered // STEP + observed // STEP - 1
