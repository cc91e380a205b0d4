"""The poll scheduler (APScheduler 3): one job per registered poll class, targets spread over the interval.

Each job runs at most one round at a time (`max_instances=1`, `coalesce`): a round still
running when the next is due is an overrun, logged and counted, never stacked. Lag is the
delay between a round's scheduled time and its start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from netmon.kernel import Sample, Target, utcnow
from netmon.monitor.rounds import Pollers, RoundResult, run_round

__all__ = ["SPREAD", "PollScheduler", "RoundStats"]

#: Share of the interval over which a round's targets are started, to avoid bursts. At 10,000
#: devices an SNMP round needs ~30 s of CPU on the one event loop: started over half of a 60 s
#: interval, the loop saturated and the round took 61 s. Three quarters leaves a quarter of
#: the interval for the last targets to finish. It is a cap: a round is spread only as long as
#: its number of targets needs (`rounds.START_RATE`), so small inventories poll at once.
SPREAD = 0.75

_log = structlog.get_logger("netmon.scheduler")


@dataclass
class RoundStats:
    """What the scheduler knows of one poll class's rounds."""

    poll_class: str
    interval: float
    rounds: int = 0
    overruns: int = 0
    missed: int = 0
    last_duration: float | None = None
    last_lag: float | None = None
    last_end: float | None = None  # Unix time
    last_by_status: dict[str, int] = field(default_factory=dict)


class PollScheduler:
    """Runs poll rounds on schedule; an async context manager that stops its rounds on exit."""

    def __init__(
        self,
        pollers: Pollers,
        targets: Callable[[], Sequence[Target]],
        *,
        on_samples: Callable[[Sequence[Sample]], None] | None = None,
        on_round: Callable[[RoundResult, RoundStats], Awaitable[None] | None] | None = None,
        on_overrun: Callable[[RoundStats], None] | None = None,
        poll_classes: Sequence[str] | None = None,
    ) -> None:
        self._pollers = pollers
        self._targets = targets
        self._on_samples = on_samples
        self._on_round = on_round
        self._on_overrun = on_overrun
        polling = pollers.config.polling
        chosen = poll_classes if poll_classes is not None else list(pollers.classes)
        self.stats = {name: RoundStats(name, polling.of(name).interval) for name in chosen}
        self._scheduled: dict[str, datetime] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)

    async def __aenter__(self) -> Self:
        """Start one job per poll class; the first rounds start at once."""
        now = utcnow()
        for name, stats in self.stats.items():
            self._scheduler.add_job(
                self._round,
                IntervalTrigger(seconds=stats.interval, start_date=now, timezone="UTC"),
                args=(name,),
                id=name,
                name=f"poll:{name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(stats.interval / 2)),
                next_run_time=now,
            )
        self._scheduler.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop scheduling and cancel the rounds in flight."""
        self._stopping = True
        self._scheduler.shutdown(wait=False)
        rounds = list(self._running)
        for task in rounds:
            task.cancel()
        await asyncio.gather(*rounds, return_exceptions=True)

    def replace_pollers(self, pollers: Pollers) -> None:
        """Use *pollers* (new credentials or timeouts after a reload) from the next round on."""
        self._pollers = pollers

    def _on_event(self, event: Any) -> None:
        stats = self.stats.get(event.job_id)
        if stats is None:
            return
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_SUBMITTED:
            self._scheduled[event.job_id] = event.scheduled_run_times[-1]
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            stats.overruns += 1
            _log.warning("round overran its interval; the next round is skipped", poll_class=stats.poll_class)
            if self._on_overrun is not None:
                self._on_overrun(stats)
        elif event.code == EVENT_JOB_MISSED:
            stats.missed += 1

    async def _round(self, poll_class: str) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover (APScheduler runs coroutine jobs as tasks)
            return
        task.set_name(f"round:{poll_class}")
        structlog.contextvars.bind_contextvars(job=f"poll:{poll_class}")  # this task's log lines only
        self._running.add(task)
        try:
            await self._measured_round(poll_class)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            _log.info("round cancelled: stopping", poll_class=poll_class)  # expected; not a job failure
        finally:
            self._running.discard(task)

    async def _measured_round(self, poll_class: str) -> None:
        stats = self.stats[poll_class]
        scheduled = self._scheduled.get(poll_class)
        lag = max(0.0, (utcnow() - scheduled) / timedelta(seconds=1)) if scheduled else 0.0
        result = await run_round(
            self._pollers,
            poll_class,
            self._targets(),
            concurrency=self._pollers.config.polling.concurrency,
            spread=stats.interval * SPREAD,
            on_samples=self._on_samples,
        )
        stats.rounds += 1
        stats.last_end = time.time()
        stats.last_duration, stats.last_lag, stats.last_by_status = result.duration, lag, result.by_status()
        if result.duration > stats.interval:
            _log.warning("round took longer than its interval", poll_class=poll_class, duration=result.duration)
        if self._on_round is not None:
            outcome = self._on_round(result, stats)
            if outcome is not None:  # a coroutine: the round ends when it is done
                await outcome
