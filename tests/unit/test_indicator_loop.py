"""The live indicator gauges are recomputed after a ping round only when their inputs changed (issue 12)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

import structlog

from netmon.indicators.compute import LiveRows, live_rows
from netmon.indicators.definitions import Catalog, catalog_for
from netmon.inventory.models import Level
from netmon.kernel import utcnow
from netmon.monitor.live import LiveState
from netmon.monitor.loops import indicator_loop
from netmon.monitor.state import State
from netmon.runtime import require
from tests.unit.test_exposition import _live


class _Runtime(SimpleNamespace):
    """The parts of `netmon.runtime.Runtime` the loop reads; `wake` counts the refreshes."""

    def wake(self) -> None:
        self.refreshed += 1
        self.woken.set()


def _runtime(live: LiveState, catalog: Catalog) -> _Runtime:
    """A runtime for the indicator loop over *live*, before any round."""
    return _Runtime(
        live=live,
        catalog=catalog,
        cluster=None,
        live_rows=None,
        ping_done=asyncio.Event(),
        woken=asyncio.Event(),
        refreshed=0,
        log=structlog.get_logger(),
    )


async def _taken(event: asyncio.Event) -> None:
    for _ in range(1000):  # the loop clears the event when it takes the round
        if not event.is_set():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the indicator loop did not take the round")


async def test_gauges_are_recomputed_only_when_a_state_changed() -> None:
    live, config = _live(devices=4, ports=2)
    runtime = _runtime(live, catalog_for(config.indicators))
    task = asyncio.create_task(indicator_loop(runtime))  # type: ignore[arg-type]
    try:
        runtime.ping_done.set()
        await asyncio.wait_for(runtime.woken.wait(), 30)
        first = require(runtime.live_rows).rows
        assert first  # the catalog's indicators over the four devices
        runtime.woken.clear()
        runtime.ping_done.set()  # a round that changed nothing ...
        await _taken(runtime.ping_done)  # (its states are read as the round is taken)
        device = next(key for key in live.engine.objects if key[0] == "device")
        live.engine.objects[device].state = State.DOWN
        runtime.ping_done.set()  # ... then one that took a device down
        await asyncio.wait_for(runtime.woken.wait(), 30)
        # one refresh for the change, none for the round between: had that one been computed, its
        # wake would have ended the wait above with the gauges of the unchanged states
        assert require(runtime.live_rows).rows != first
        assert runtime.refreshed == 2
    finally:
        task.cancel()


async def test_the_loop_keeps_rows_that_equal_a_computation_of_each_level_while_the_states_hold() -> None:
    live, config = _live(devices=4, ports=2)
    catalog = catalog_for(config.indicators)
    runtime = _runtime(live, catalog)
    task = asyncio.create_task(indicator_loop(runtime))  # type: ignore[arg-type]
    try:
        runtime.ping_done.set()
        await asyncio.wait_for(runtime.woken.wait(), 30)
    finally:
        task.cancel()
    kept: LiveRows = runtime.live_rows
    today, states = utcnow().date(), live.indicator_states()
    assert kept.holds(live.inventory, catalog, today, states)
    for level in (None, *Level):  # what the API serves from them is what it would compute
        assert kept.of_level(level) == live_rows(live.inventory, states, catalog, level=level, today=today)
    assert {row.level for row in kept.of_level(None)} > {level.value for level in Level if kept.of_level(level)}

    device = next(key for key in live.engine.objects if key[0] == "device")
    live.engine.objects[device].state = State.DOWN
    assert not kept.holds(live.inventory, catalog, today, live.indicator_states())  # a state moved
    assert not kept.holds(live.inventory, catalog, today + timedelta(days=1), states)  # another day's structure
    assert not kept.holds(live.inventory, catalog_for(config.indicators), today, states)  # other definitions
