"""Bounded SNMP column walks over one gufo session: whatever the agent sends, a walk ends.

A walk ends, keeping every row read, at the first of:

- the end of the column, the end of the agent's view (endOfMibView, an empty reply; gufo raises
  ``StopAsyncIteration`` for both);
- the first OID that does not increase (net-snmp's tools stop there too: "OID not increasing");
  an agent that answers every GETBULK with the same rows would otherwise be walked forever;
- ``max_requests`` requests, ``max_rows`` rows or ``seconds`` of wall time (`WalkLimits`).

A GETBULK reply that cannot be decoded (a datagram cut at the receive buffer: 30 interfaces
with 200-character ifAlias make ~4.4 kB) is retried from the column's start with half the
repetitions, down to GETNEXT. So is a GETBULK the agent refused: RFC 3416 4.2.3 has an agent
answer a GETBULK too large for its message size with fewer rows, but old agents answer tooBig
or genErr without varbinds, and gufo gives every error-status as the end of the walk
(``StopAsyncIteration``), like endOfMibView. A GETBULK walk that ends that way is therefore
confirmed with one GETNEXT from the same place (`_confirm_end`): endOfMibView or the end of the
column confirms it; a row means that the GETBULK was refused, not that the column ended.

Every reply received moves the poll's idle deadline on (`idle_deadline`): a device that keeps
answering is never cut off for being large.

gufo-snmp (pinned below 0.14) is driven through its session's ``_send``/``_recv`` and the
socket's ``send_get_bulk``/``recv_get_bulk``: whole responses as lists, one Python frame per
reply instead of one per value. A v3 profile with a context walks over pysnmp
(`netmon.pollers.snmpctx.ContextSession.fetcher`): same replies as lists, same bounds here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gufo.snmp import SnmpDecodeError, ValueType
from gufo.snmp._fast import GetIter
from gufo.snmp.aio.client import SnmpSession

from netmon.pollers.share import LoopShare

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from netmon.pollers.snmpctx import ContextSession  # pysnmp: imported only for context profiles

__all__ = ["Batch", "IdleDeadline", "Walk", "WalkLimits", "idle_deadline", "note_progress", "walk_column"]

#: One reply of a column walk, as gufo's ``recv_get_bulk`` gives it: None where the walk left the column.
Batch = list[tuple[str, ValueType] | None]

_progress: ContextVar[Callable[[], None] | None] = ContextVar("netmon_snmp_progress", default=None)


@dataclass(frozen=True, kw_only=True)
class WalkLimits:
    """Bounds of one column walk: requests sent, rows kept, seconds of wall time."""

    max_requests: int = 2_000
    max_rows: int = 20_000
    seconds: float = 120.0


@dataclass(kw_only=True)
class Walk:
    """What one column walk read, and why it ended.

    ``stop`` is one of "end" (end of column or view), "not_increasing", "requests", "rows",
    "time"; ``requests`` counts requests sent, retries after too-big replies included.
    """

    rows: dict[int, ValueType] = field(default_factory=dict)
    stop: str = "end"
    requests: int = 0
    repetitions: int = 0


def note_progress() -> None:
    """Tell the running poll's `idle_deadline` (if any) that the agent just answered."""
    extend = _progress.get()
    if extend is not None:
        extend()


class IdleDeadline:
    """The deadline of one poll: *idle* seconds after the last answer, and *cap* after its start (loop time).

    An answer only records its time (`note_progress`): the timer is moved when it fires early, not at
    every reply, so that a poll of hundreds of requests does not cancel and make a timer per reply
    (a `TimerHandle` and a heap push each, and a heap that fills with cancelled ones).
    """

    __slots__ = ("_cap", "_handle", "_idle", "_last", "_loop", "_scope")

    def __init__(self, scope: asyncio.Timeout, idle: float, cap: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._scope = scope
        self._idle = idle
        self._last = self._loop.time()
        self._cap = self._last + cap
        self._handle = self._loop.call_at(self.when(), self._check)

    def when(self) -> float:
        """Return the loop time at which the poll is cut, as things stand."""
        return min(self._last + self._idle, self._cap)

    def progress(self) -> None:
        """Note an answer now."""
        self._last = self._loop.time()

    def expired(self) -> bool:
        """Return True once the deadline has cut the poll."""
        return self._scope.expired()

    def _check(self) -> None:
        due = self.when()
        if self._loop.time() >= due:
            self._scope.reschedule(self._loop.time())  # due: the scope cancels the poll now
        else:
            self._handle = self._loop.call_at(due, self._check)

    def cancel(self) -> None:
        """Drop the timer (the block ended)."""
        self._handle.cancel()


@asynccontextmanager
async def idle_deadline(idle: float, cap: float) -> AsyncIterator[IdleDeadline]:
    """Bound a poll by *idle* seconds without an answer, and *cap* seconds in all; yield the deadline.

    Raises:
        TimeoutError: on leaving the block when either bound passed (as ``asyncio.timeout``).
    """
    async with asyncio.timeout(None) as scope:
        deadline = IdleDeadline(scope, idle, cap)
        token = _progress.set(deadline.progress)
        try:
            yield deadline
        finally:
            _progress.reset(token)
            deadline.cancel()


def _index(oid: str) -> int:
    return int(oid.rsplit(".", 1)[1])


async def walk_column(
    session: SnmpSession | ContextSession,
    column: str,
    *,
    repetitions: int,
    bulk: bool,
    limits: WalkLimits = WalkLimits(),
) -> Walk:
    """Walk one single-index table column; return its rows by ifIndex-like last sub-identifier.

    *repetitions* is the first GETBULK's max-repetitions (halved after each undecodable
    reply); *bulk* False walks with GETNEXT (SNMPv1).

    Raises:
        TimeoutError, SnmpError, OSError: from the client (gufo, or `ContextSession` with gufo's
            types), for the caller to translate; a reply that cannot be decoded even with
            GETNEXT raises ``SnmpDecodeError``.
    """
    walk = Walk(repetitions=repetitions if bulk else 0)
    ends = time.monotonic() + limits.seconds
    while True:
        try:
            await _walk_once(session, column, walk, limits, ends)
        except (SnmpDecodeError, _BulkRefusedError):
            if walk.repetitions == 0:
                raise
            walk.repetitions //= 2  # 1 -> 0: GETNEXT
            walk.rows.clear()
            continue
        return walk


class _BulkRefusedError(Exception):
    """A GETBULK ended the walk, and a GETNEXT from the same place found a row: the agent refused it."""


Fetch = Callable[[], "Awaitable[Batch]"]


def _gufo_fetch(session: SnmpSession, column: str, repetitions: int) -> tuple[Fetch, Fetch | None]:
    """Return one GETBULK (GETNEXT when *repetitions* is 0) per call over a gufo session.

    With GETBULK, also a GETNEXT from where the GETBULKs are (the same gufo context), to confirm an end.
    """
    sock = session._sock
    context = GetIter(column, repetitions) if repetitions else GetIter(column)

    async def getnext() -> Batch:
        await session._send(lambda: sock.send_get_next(context))
        return [await session._recv(lambda: sock.recv_get_next(context))]

    if not repetitions:
        return getnext, None

    async def bulk() -> Batch:
        await session._send(lambda: sock.send_get_bulk(context))
        return await session._recv(lambda: sock.recv_get_bulk(context))

    return bulk, getnext


async def _confirm_end(probe: Fetch | None, walk: Walk) -> None:
    """Confirm that a GETBULK that ended the walk met the end, with one GETNEXT from the same place.

    Raises:
        _BulkRefusedError: the GETNEXT found a row: the GETBULK was refused (tooBig, genErr), not the end.
    """
    if probe is None:
        return
    walk.requests += 1
    try:
        await probe()
    except StopAsyncIteration:  # endOfMibView, or the column ended: the GETBULK told the truth
        return
    except TimeoutError:  # no answer to the probe: keep the rows read, as before the probe existed
        return
    finally:
        note_progress()
    raise _BulkRefusedError


async def _walk_once(  # noqa: PLR0911 (one return per way a walk ends)
    session: SnmpSession | ContextSession, column: str, walk: Walk, limits: WalkLimits, ends: float
) -> None:
    probe: Fetch | None = None  # pysnmp reports a refused GETBULK itself (tooBig as SnmpDecodeError)
    if isinstance(session, SnmpSession):
        fetch, probe = _gufo_fetch(session, column, walk.repetitions)
    else:
        fetch = session.fetcher(column, walk.repetitions)
    rows = walk.rows
    last = -1
    share = LoopShare.of()
    while True:
        if walk.requests >= limits.max_requests:
            walk.stop = "requests"
            return
        if time.monotonic() >= ends:
            walk.stop = "time"
            return
        await share.turn()  # a turn per request: a round's replies are spread over the loop's iterations
        walk.requests += 1
        try:
            batch = await fetch()
        except StopAsyncIteration:  # endOfMibView, an empty reply, an error-status, or (v1) noSuchName at the end
            note_progress()
            if walk.requests < limits.max_requests:
                await _confirm_end(probe, walk)
            walk.stop = "end"
            return
        note_progress()
        if not batch:
            walk.stop = "end"
            return
        for item in batch:
            if item is None:  # the walk left the column
                walk.stop = "end"
                return
            index = _index(item[0])
            if index <= last:
                walk.stop = "not_increasing"
                return
            last = index
            if len(rows) >= limits.max_rows:
                walk.stop = "rows"
                return
            rows[index] = item[1]
