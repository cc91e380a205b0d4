"""Big API answers off the event loop: pages, a cache of selected rows, and only the served page serialised (issue 12).

`GET /api/v1/indicators` gives ~47,000 rows (30 MB of JSON) at 10,000 devices and
`/api/v1/outages` grows without bound: serialising either on the event loop stalled polling
for seconds. Here:

- `PageCache.rows` computes and selects a query's rows in a worker thread, once per (query,
  stamp): the stamp changes when the state does (a batch of transitions published or written,
  a reload, a maintenance window added or removed), and an entry also expires after
  `CACHE_TTL` seconds (open outages grow, and relative `since` values move). Concurrent
  requests for the same rows share one computation. At most `CACHE_ENTRIES` entries and
  `CACHE_ROWS` rows are kept (least recently used first out).
- The rows are kept as `Rows`: the objects, and how one becomes JSON. Only the rows of the page
  asked for are serialised. Serialising all 47,000 live indicator rows at 10k devices took
  seconds of a worker holding the GIL, and keeping their JSON cost ~35 MB (issue 12); a page of
  1,000 is a few milliseconds, and the live rows are shared with the indicator loop.
- `Page.parse` reads `limit` and `offset` (400 naming the parameter when bad); `page_body`
  serialises and joins the page's rows, in a worker thread for big pages, into
  `{"<key>": [...], "count": N, "total": T, "offset": O, "limit": L, "next": URL|null}`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from netmon.errors import InputError

__all__ = [
    "CACHE_ENTRIES",
    "CACHE_ROWS",
    "CACHE_TTL",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "PageCache",
    "Rows",
    "encode_rows",
    "page_body",
]

#: Rows per page when `limit` is not given, and the most a page may have.
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
#: Longest a cached answer is served (seconds), even when no state changed.
CACHE_TTL = 60.0
#: Most answers kept, and most rows kept in all (a computed indicator row is ~400 bytes).
CACHE_ENTRIES, CACHE_ROWS = 8, 200_000  # the 10k live indicators answer is 47,614 rows
#: Pages with more rows than this are joined in a worker thread.
_THREAD_ROWS = 200


@dataclass(frozen=True, kw_only=True)
class Page:
    """Which rows of an answer a request wants: `offset` (from 0) and `limit` (1..`MAX_LIMIT`)."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Page:
        """Read `limit` and `offset` from a request's query.

        Raises:
            InputError: `limit` is not a whole number from 1 to `MAX_LIMIT`, or `offset` not one from 0
                (HTTP 400; the message starts with the parameter's name).
        """
        limit, offset = query.get("limit", str(DEFAULT_LIMIT)), query.get("offset", "0")
        if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise InputError(f"limit: expected a whole number from 1 to {MAX_LIMIT}, not {limit[:32]!r}")
        if not offset.isascii() or not offset.isdigit() or len(offset) > 12:
            raise InputError(f"offset: expected a whole number from 0, not {offset[:32]!r}")
        return cls(offset=int(offset), limit=int(limit))


def encode_rows(rows: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """Serialise each row to compact UTF-8 JSON (Vietnamese kept readable as UTF-8, not escaped)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return [dumps(row).encode() for row in rows]


_T = TypeVar("_T")


class Rows(Generic[_T]):
    """An answer's selected rows, in order: *items*, and *to_json* turning one into a JSON object (a mapping).

    Immutable once made: the cache hands the same `Rows` to every request of its (query, stamp).
    """

    __slots__ = ("_items", "_to_json")

    def __init__(self, items: Sequence[_T], to_json: Callable[[_T], Mapping[str, Any]]) -> None:
        self._items, self._to_json = items, to_json

    def __len__(self) -> int:
        return len(self._items)

    def encoded(self, start: int, stop: int) -> list[bytes]:
        """Return rows *start* to *stop* (a slice: clipped to the rows there are) as UTF-8 JSON (`encode_rows`)."""
        return encode_rows([self._to_json(item) for item in self._items[start:stop]])


async def page_body(key: str, rows: Rows[Any], page: Page, next_url: Callable[[int], str]) -> bytes:
    """Return the JSON answer of *page* of *rows* under *key*; *next_url(offset)* links the next page.

    `next` is null on the last page; `total` counts every row the query selects. Only the page's
    rows are serialised, in a worker thread when they are more than a few hundred.
    """
    start = min(page.offset, len(rows))
    end = min(start + page.limit, len(rows))
    tail = {
        "count": end - start,
        "total": len(rows),
        "offset": page.offset,
        "limit": page.limit,
        "next": next_url(end) if end < len(rows) else None,
    }

    def join() -> bytes:
        head = f'{{"{key}":['.encode()
        return head + b",".join(rows.encoded(start, end)) + b"]," + json.dumps(tail, ensure_ascii=False)[1:].encode()

    return await asyncio.to_thread(join) if end - start > _THREAD_ROWS else join()


@dataclass(frozen=True)
class _Entry:
    stamp: Hashable
    at: float
    rows: Rows[Any]


class PageCache:
    """Selected rows per query, valid while their stamp holds and for at most *ttl* seconds."""

    def __init__(self, *, entries: int = CACHE_ENTRIES, max_rows: int = CACHE_ROWS, ttl: float = CACHE_TTL) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._inflight: dict[tuple[Hashable, Hashable], asyncio.Future[Rows[Any]]] = {}
        self._limit, self._max_rows, self._ttl = entries, max_rows, ttl
        self.computed = 0  # computations run (a test sees the cache work)

    async def rows(self, key: Hashable, stamp: Hashable, prepare: Callable[[], Callable[[], Rows[Any]]]) -> Rows[Any]:
        """Return the rows of *key* at *stamp*; on a miss, *prepare()* (on the loop) gives what runs in a worker.

        *prepare* takes the snapshot that must be read on the event loop (object states) and
        returns the function computing and serialising the rows off it. Exceptions of either
        (InputError, StoreError, ...) reach every caller waiting for them; nothing is cached then.
        """
        entry = self._entries.get(key)
        if entry is not None and entry.stamp == stamp and time.monotonic() - entry.at < self._ttl:
            self._entries.move_to_end(key)
            return entry.rows
        flight = (key, stamp)
        future = self._inflight.get(flight)
        if future is None:
            future = asyncio.ensure_future(asyncio.to_thread(prepare()))
            self._inflight[flight] = future
            future.add_done_callback(lambda _: self._inflight.pop(flight, None))
            self.computed += 1
            rows = await asyncio.shield(future)  # a client that goes away does not waste the work
            self._store(key, _Entry(stamp, time.monotonic(), rows))
            return rows
        return await asyncio.shield(future)

    def clear(self) -> None:
        """Forget every cached answer."""
        self._entries.clear()

    def _store(self, key: Hashable, entry: _Entry) -> None:
        self._entries.pop(key, None)
        if len(entry.rows) > self._max_rows:
            return
        self._entries[key] = entry
        while len(self._entries) > self._limit or sum(len(e.rows) for e in self._entries.values()) > self._max_rows:
            self._entries.popitem(last=False)
