"""Poll rounds: every target of one poll class, with bounded concurrency and per-target deadlines.

A round never fails because of a device: a device that hangs is cut off at its deadline and
reported as a timeout; a poller bug on one device is reported as an error sample and logged.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from netmon.config import Config
from netmon.inventory.spec import Inventory
from netmon.kernel import Sample, Target, utcnow
from netmon.pollers import registry
from netmon.pollers.registry import PollClass, poll_target
from netmon.pollers.service import service_targets
from netmon.pollers.share import LoopShare

__all__ = ["START_RATE", "Pollers", "RoundResult", "TargetList", "run_round", "targets_of"]

#: Granularity of the spread of a round's starts (seconds). Not fine: targets started together
#: have their replies handled in shared event-loop iterations, and a fine spread costs one loop
#: iteration per reply (at 1,000 devices, 50 ms -> 1 s ticks: ping 186 -> 52 us CPU per packet,
#: SNMP 4.2 -> 2.3 ms per device-poll). Not coarse either: at 10,000 devices a 1 s tick started
#: 455 pings in one iteration (40 ms on the loop); 0.25 s starts 114, near `pollers.share.SHARE`.
_TICK = 0.25

#: Targets started per second at most while a round spreads its starts (the pace a 10,000-device
#: round was measured to need: ping over 22.5 s, SNMP over 45 s, both capped by the scheduler's
#: spread). A round is spread only as long as its size needs at this pace, so that a small
#: inventory's first round (and `/readyz`) comes in seconds, not after ¾ of the interval (issue 12).
START_RATE = 200.0

#: Poll classes whose samples take milliseconds to record (interfaces, storage), and so take a
#: turn of the loop (`pollers.share`) before they do; a ping's take microseconds and do not queue.
#: They also take one before the poll starts: opening a session and sending the first request is
#: a step of 0.2 to 0.5 ms, and a tick starts 56 polls at 10k (30 to 60 ms in one iteration, by the
#: loop watch of the 10k benchmark).
_SHARED = frozenset({"snmp", "host_resources"})


@dataclass(frozen=True, kw_only=True)
class RoundResult:
    """One round of one poll class: when, how long, and every sample."""

    poll_class: str
    started: datetime
    duration: float
    samples: tuple[Sample, ...]

    def by_status(self) -> dict[str, int]:
        """Count the samples by status."""
        return dict(Counter(str(sample.status) for sample in self.samples))


def targets_of(inventory: Inventory) -> list[Target]:
    """Return the enabled devices, then the enabled services (`ServiceTarget`), as poll targets.

    One list for every poll class: each class's `applies()` picks its own (the device classes
    take devices, `http`/`tcp` take services of their check).
    """
    devices = [
        Target(device=d.name, address=d.address, unit=d.unit, role=d.role, snmp=d.snmp)
        for d in inventory.devices.values()
        if d.enabled
    ]
    return [*devices, *service_targets(inventory)]


class TargetList:
    """`targets_of` the inventory that *inventory* returns, built again only when that is another inventory.

    Every poll class asks at each round start: at 10,000 devices a build is 40 ms on the event
    loop, and the ping, http and tcp rounds start together (issue 12). An inventory is not
    changed in place; a reload makes a new one. The list is shared: callers do not mutate it.
    """

    def __init__(self, inventory: Callable[[], Inventory]) -> None:
        self._inventory = inventory
        self._for: Inventory | None = None
        self._targets: list[Target] = []

    def __call__(self) -> list[Target]:
        """Return the poll targets of the current inventory."""
        inventory = self._inventory()
        if inventory is not self._for:
            self._targets, self._for = targets_of(inventory), inventory
        return self._targets


class Pollers:
    """The poll classes of one process (one instance per registered class), by name."""

    def __init__(self, config: Config, classes: Mapping[str, PollClass] | None = None) -> None:
        self.config = config
        self.classes: dict[str, PollClass] = dict(classes) if classes is not None else registry.build(config)

    def __getitem__(self, name: str) -> PollClass:
        """Return the poll class *name*; KeyError when it is not registered."""
        return self.classes[name]

    async def check(self) -> None:
        """Run every class's start-up check (PollError when one cannot poll at all, e.g. no ICMP socket)."""
        for poll_class in self.classes.values():
            await poll_class.check()

    async def aclose(self) -> None:
        """Release every class's open resources (`PollClass.aclose`); no poll runs after this.

        Pollers replaced by a reload are not closed here (a round may still use them): what they
        hold open is closed when they are dropped (`netmon.pollers.snmpctx.ContextEngines`).
        """
        for poll_class in self.classes.values():
            await poll_class.aclose()


async def run_round(
    pollers: Pollers,
    poll_class: str,
    targets: Iterable[Target],
    *,
    concurrency: int,
    spread: float = 0.0,
    on_samples: Callable[[Sequence[Sample]], None] | None = None,
) -> RoundResult:
    """Poll every applicable target once through `poll_target`, starting them evenly over at most *spread* seconds.

    The starts take no longer than `START_RATE` needs: 3 targets start at once, 10,000 over *spread*.

    Returns when all are done; a target that fails or hangs gives failure samples, never an exception.
    """
    started_at, started = utcnow(), time.monotonic()
    polls = pollers[poll_class]
    gate = asyncio.Semaphore(polls.slots(concurrency))
    share = LoopShare.of()
    shared = poll_class in _SHARED
    collected: list[Sample] = []

    async def one(target: Target) -> None:
        structlog.contextvars.bind_contextvars(device=target.device)  # this task's log lines only
        async with gate:
            if shared:  # a poll's first step (its session, socket and first request) is poll work too
                await share.turn()
            samples = await poll_target(polls, target)
        if shared:  # recording a 48-port switch's samples is a step of 2 to 5 ms (pollers.share)
            await share.turn()
        collected.extend(samples)
        if on_samples is not None:
            on_samples(samples)

    chosen = [target for target in targets if polls.applies(target)]
    spread = min(spread, len(chosen) / START_RATE)
    ticks = max(1, min(len(chosen), int(spread / _TICK)))
    per_tick = -(-len(chosen) // ticks) if chosen else 0
    async with asyncio.TaskGroup() as group:
        for start in range(0, len(chosen), per_tick or 1):
            if start:
                await asyncio.sleep(spread / ticks)  # pacing the round's starts, not synchronisation
            for target in chosen[start : start + per_tick]:
                group.create_task(one(target), name=f"{poll_class}:{target.device}")
    return RoundResult(
        poll_class=poll_class, started=started_at, duration=time.monotonic() - started, samples=tuple(collected)
    )
