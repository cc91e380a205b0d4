"""LoopShare: the polls' steps are spread over iterations of the event loop, and no turn is lost or reordered."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from netmon.pollers.share import LoopShare

STEP = 0.001  # CPU seconds of one simulated poll step (a reply decoded, the next request sent)


def _busy(seconds: float) -> None:
    ends = time.perf_counter() + seconds
    while time.perf_counter() < ends:
        pass


class _Iterations:
    """Numbers the event loop's iterations: a callback that schedules itself once per iteration."""

    def __init__(self) -> None:
        self.now = 0
        self._stopped = False
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.now += 1
        if not self._stopped:
            asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True


async def _polls(share: LoopShare | None, polls: int, steps: int) -> Counter[int]:
    """*polls* tasks of *steps* steps each, a reply per iteration; count the steps run in each iteration."""
    iterations = _Iterations()
    ran: Counter[int] = Counter()

    async def poll() -> None:
        for _ in range(steps):
            if share is not None:
                await share.turn()
            ran[iterations.now] += 1
            _busy(STEP)
            await asyncio.sleep(0)  # the reply comes in a later iteration

    async with asyncio.TaskGroup() as group:
        for _ in range(polls):
            group.create_task(poll())
    iterations.stop()
    return ran


async def test_without_a_share_every_ready_poll_runs_in_one_iteration() -> None:
    ran = await _polls(None, polls=100, steps=3)
    assert max(ran.values()) == 100  # the loop's behaviour the share exists for


async def test_the_share_bounds_each_iteration_and_loses_no_step() -> None:
    share = LoopShare(share=0.005)
    ran = await _polls(share, polls=100, steps=3)
    assert sum(ran.values()) == 300 == share.turns
    assert share.queued > 0
    # ~5 steps of 1 ms fit in 5 ms; the bound leaves room for a slow machine, which only fits fewer
    assert max(ran.values()) <= 20


async def test_queued_turns_go_first_come_first_served_and_a_cancelled_one_gives_its_place_up() -> None:
    share = LoopShare(share=0.0)  # every turn after the first of an iteration queues
    order: list[int] = []

    async def poll(n: int) -> None:
        await share.turn()
        order.append(n)

    tasks = [asyncio.create_task(poll(n)) for n in range(10)]
    await asyncio.sleep(0)  # all ten have asked for a turn
    tasks[3].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[3], asyncio.CancelledError)
    assert order == [0, 1, 2, 4, 5, 6, 7, 8, 9]


async def test_one_share_per_loop() -> None:
    assert LoopShare.of() is LoopShare.of(asyncio.get_running_loop())
    other = asyncio.new_event_loop()
    try:
        assert LoopShare.of(other) is not LoopShare.of()
    finally:
        other.close()


@pytest.mark.parametrize("share", [0.0, 0.005, 1.0], ids=["nothing-free", "5ms", "everything-free"])
async def test_every_turn_is_given_whatever_the_share(share: float) -> None:
    got = await _polls(LoopShare(share=share), polls=20, steps=4)
    assert sum(got.values()) == 80


async def test_other_work_in_the_loop_does_not_shrink_the_polls_share_of_later_iterations() -> None:
    """What fits is measured in each iteration: a busy neighbour must not starve the polls to one step each."""
    share = LoopShare(share=0.005)
    stop = asyncio.Event()

    async def neighbour() -> None:  # 10 ms of other work in every iteration
        while not stop.is_set():
            _busy(0.01)
            await asyncio.sleep(0)

    task = asyncio.create_task(neighbour())
    try:
        ran = await _polls(share, polls=60, steps=3)
    finally:
        stop.set()
        await task
    assert sum(ran.values()) == 180
    assert sum(ran.values()) / len(ran) >= 2  # on average several 1 ms steps per iteration, not one
