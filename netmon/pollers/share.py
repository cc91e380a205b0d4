"""Share the event loop among many polls: about `SHARE` seconds of poll work per loop iteration.

asyncio runs every callback that is ready in an iteration before it looks at its sockets again.
An SNMP round keeps up to `polling.concurrency` polls in flight; when their replies come back
together (a fast network, or a burst of starts), one iteration ran 250 to 1,600 poll steps,
100 to 650 ms, measured on the 10k whole-daemon benchmark (issue 12). /healthz, a scrape's
next slice and the ping replies waited for all of them, and each hop of an HTTP request waited
for another such iteration.

An SNMP walk or GET of interface cells (`netmon.pollers.ifplan`) awaits `LoopShare.turn()`
before each request it sends, an interface poll before it assembles its rows, and an SNMP poll
before its samples are recorded (`monitor.rounds`). In each iteration, turns are given until `SHARE`
seconds have passed since the first one; later ones queue, first come first served. The next
iteration lets twice as many go as fitted in this one; those that find its share used go back
to the head of the queue, in order.
What fits is measured anew in every iteration, so other work in the loop shortens the polls'
share of one iteration, never of the following ones. Nothing is dropped: the polls' throughput
is the same, only their replies are spread over more, shorter iterations. One share per event
loop (`LoopShare.of`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from weakref import WeakKeyDictionary

__all__ = ["SHARE", "LoopShare"]

#: Seconds of poll work per event-loop iteration before the polls queue for later iterations.
#: A /healthz request waits for about three iterations (its connection, its request, its answer),
#: each holding up to this much polling plus a scrape's `exposition.SLICE`: at 10 ms each its p99
#: during scrapes was 131 ms on the 10k benchmark, at 5 ms 81 to 96 ms (three runs; issue 12).
SHARE = 0.005

_SHARES: WeakKeyDictionary[asyncio.AbstractEventLoop, LoopShare] = WeakKeyDictionary()


class LoopShare:
    """The turns of the polls on one event loop (see the module doc)."""

    def __init__(self, share: float = SHARE) -> None:
        self.share = share
        self.turns = 0  # turns taken, queued or not
        self.queued = 0  # times a turn waited for a later iteration
        self._epoch = 0  # iterations counted by `_iterate`
        self._seen = -1  # the epoch of `_opened`
        self._opened = 0.0  # perf_counter of the first turn of the epoch
        self._fitted = 0  # turns given in the current epoch
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._bounced: list[asyncio.Future[None]] = []  # released this epoch, but it was used up: first next time
        self._next: asyncio.Handle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop | None = None) -> LoopShare:
        """Return the share of *loop* (default: the running loop), made at the first call."""
        loop = loop if loop is not None else asyncio.get_running_loop()
        share = _SHARES.get(loop)
        if share is None:
            share = _SHARES[loop] = cls()
        return share

    async def turn(self) -> None:
        """Return at once while the polls' share of this iteration lasts; else after the queue ahead.

        Raises:
            asyncio.CancelledError: if the caller is cancelled while it waits (its place is freed).
        """
        self.turns += 1
        if not self._waiting and self._fits():
            return
        self.queued += 1
        waiter = self._wait()
        self._waiting.append(waiter)
        while True:
            await waiter
            if self._fits():
                return
            waiter = self._wait()  # released, but this iteration's share is used: head of the queue
            self._bounced.append(waiter)

    def _fits(self) -> bool:
        """Give a turn if the share of this iteration lasts (the first turn of an iteration opens it)."""
        now = time.perf_counter()
        if self._seen != self._epoch:
            self._seen, self._opened, self._fitted = self._epoch, now, 0
            self._schedule()  # the next iteration starts the next epoch
        elif now - self._opened >= self.share:
            return False
        self._fitted += 1
        return True

    def _wait(self) -> asyncio.Future[None]:
        self._schedule()
        return asyncio.get_running_loop().create_future()

    def _schedule(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().call_soon(self._iterate)

    def _iterate(self) -> None:
        """Once per iteration while polls take turns: a new epoch; release twice what fitted in the last one."""
        self._next = None
        fitted = self._fitted if self._seen == self._epoch else 0
        self._epoch += 1
        self._waiting.extendleft(reversed(self._bounced))
        self._bounced.clear()
        released = 0
        while self._waiting and released < 2 * fitted + 1:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled waiter gives its place up
                waiter.set_result(None)
                released += 1
        if self._waiting:
            self._schedule()
