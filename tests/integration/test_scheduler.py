"""The poll scheduler: rounds repeat with their duration and lag recorded; overruns never stack."""

from __future__ import annotations

import asyncio

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.inventory.models import Role
from netmon.kernel import Sample, Status, Target
from netmon.monitor.rounds import Pollers, RoundResult
from netmon.monitor.scheduler import PollScheduler, RoundStats
from netmon.pollers.classes.ping import Ping

TARGETS = [Target(device=f"d{i}", address=f"127.77.2.{i}", unit="U", role=Role.SWITCH) for i in range(1, 21)]


def _config(interval: float) -> Config:
    return Config.model_validate({"polling": {"ping": {"interval": interval, "count": 1, "timeout": 0.5}}})


async def test_rounds_repeat_and_are_measured() -> None:
    done = asyncio.Event()
    results: list[RoundResult] = []

    def on_round(result: RoundResult, stats: RoundStats) -> None:
        results.append(result)
        if stats.rounds >= 3:
            done.set()

    pollers = Pollers(_config(0.4))
    async with (
        asyncio.timeout(30),
        PollScheduler(pollers, lambda: TARGETS, on_round=on_round, poll_classes=["ping"]) as s,
    ):
        await done.wait()
    stats = s.stats["ping"]
    assert stats.rounds >= 3
    assert stats.overruns == 0
    assert stats.last_lag is not None
    assert stats.last_lag >= 0
    assert stats.last_by_status == {"ok": 20}
    assert all({x.device for x in r.samples} == {t.device for t in TARGETS} for r in results)


class _SlowPing(Ping):
    """The ping poll class, waiting for the test: rounds last as long as the test wants."""

    def __init__(self, config: Config, settings: PollSettings) -> None:
        super().__init__(config, settings)
        self.release = asyncio.Event()
        self.running = 0
        self.most_running = 0

    def deadline(self, target: Target) -> float:
        return 60.0  # the test, not the deadline, ends these polls

    async def poll(self, target: Target) -> list[Sample]:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.release.wait()
            return await super().poll(target)
        finally:
            self.running -= 1


class _Slow(Pollers):
    """Pollers whose ping waits for the test."""

    def __init__(self, config: Config) -> None:
        self.slow = _SlowPing(config, config.polling.ping)
        super().__init__(config, {"ping": self.slow})
        self.release = self.slow.release


async def test_an_overrunning_round_is_counted_not_stacked() -> None:
    pollers = _Slow(_config(0.3))
    overran = asyncio.Event()
    finished = asyncio.Event()

    def on_overrun(stats: RoundStats) -> None:
        if stats.overruns >= 2:
            overran.set()

    scheduler = PollScheduler(
        pollers, lambda: TARGETS[:1], on_overrun=on_overrun, on_round=lambda r, s: finished.set(), poll_classes=["ping"]
    )
    async with asyncio.timeout(30), scheduler:
        await overran.wait()  # two more rounds came due while the first still ran
        assert scheduler.stats["ping"].rounds == 0
        pollers.release.set()
        await finished.wait()
    stats = scheduler.stats["ping"]
    assert stats.overruns >= 2
    assert stats.rounds >= 1
    assert pollers.slow.most_running == 1
    assert stats.last_by_status == {str(Status.OK): 1}
