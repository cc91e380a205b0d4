"""Big answers off the loop (netmon.api.pages): pages, and the cache of serialised rows (issue 12)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from netmon.api.pages import MAX_LIMIT, Page, PageCache, Rows, page_body
from netmon.errors import InputError


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, Page(offset=0, limit=1000), id="defaults"),
        pytest.param({"limit": "5", "offset": "10"}, Page(offset=10, limit=5), id="given"),
        pytest.param({"limit": str(MAX_LIMIT)}, Page(offset=0, limit=MAX_LIMIT), id="the-largest-page"),
    ],
)
def test_page_parse(query: dict[str, str], expected: Page) -> None:
    assert Page.parse(query) == expected


@pytest.mark.parametrize(
    ("query", "named"),
    [
        pytest.param({"limit": "0"}, "limit", id="limit-zero"),
        pytest.param({"limit": str(MAX_LIMIT + 1)}, "limit", id="limit-too-large"),
        pytest.param({"limit": "ten"}, "limit", id="limit-not-a-number"),
        pytest.param({"limit": "-1"}, "limit", id="limit-negative"),
        pytest.param({"limit": "²"}, "limit", id="limit-unicode-digit"),
        pytest.param({"offset": "-1"}, "offset", id="offset-negative"),
        pytest.param({"offset": "1e3"}, "offset", id="offset-not-whole"),
        pytest.param({"offset": "9" * 40}, "offset", id="offset-absurd"),
    ],
)
def test_bad_page_parameters_name_themselves(query: dict[str, str], named: str) -> None:
    with pytest.raises(InputError, match=f"^{named}: "):
        Page.parse(query)


async def test_pages_cover_every_row_once_and_link_the_next() -> None:
    serialised: list[int] = []

    def to_json(n: int) -> dict[str, Any]:
        serialised.append(n)
        return {"n": n, "name": "Phường Một"}

    rows = Rows(range(7), to_json)
    seen: list[int] = []
    offset: int | None = 0
    pages = 0
    while offset is not None and pages < 10:
        body = json.loads(await page_body("items", rows, Page(offset=offset, limit=3), lambda o: f"/x?offset={o}"))
        assert (body["total"], body["limit"], body["offset"], body["count"]) == (7, 3, offset, len(body["items"]))
        seen += [item["n"] for item in body["items"]]
        offset = int(body["next"].rpartition("=")[2]) if body["next"] else None
        pages += 1
    assert seen == list(range(7))
    assert pages == 3
    assert serialised == list(range(7))  # each row serialised when its page was served, and only then
    assert b"Ph\xc6\xb0\xe1\xbb\x9dng" in rows.encoded(0, 1)[0]  # UTF-8, not \u escapes
    past = json.loads(await page_body("items", rows, Page(offset=50, limit=3), str))
    assert (past["items"], past["count"], past["next"]) == ([], 0, None)


def _rows_of(calls: list[int], value: str, count: int = 1) -> Callable[[], Callable[[], Rows[str]]]:
    def prepare() -> Callable[[], Rows[str]]:
        loop_thread = threading.get_ident()

        def compute() -> Rows[str]:
            calls.append(threading.get_ident())
            assert threading.get_ident() != loop_thread  # computed in a worker thread
            return Rows([value] * count, lambda v: {"v": v})

        return compute

    return prepare


async def test_the_cache_computes_once_per_stamp_and_shares_concurrent_requests() -> None:
    cache, calls = PageCache(), list[int]()
    first = await asyncio.gather(*(cache.rows("k", 1, _rows_of(calls, "a")) for _ in range(5)))
    assert len(calls) == 1
    assert all(rows is first[0] for rows in first)
    assert _all(first[0]) == [b'{"v":"a"}']
    assert _all(await cache.rows("k", 1, _rows_of(calls, "b"))) == [b'{"v":"a"}']  # cached
    assert _all(await cache.rows("k", 2, _rows_of(calls, "b"))) == [b'{"v":"b"}']  # the state changed
    assert _all(await cache.rows("other", 2, _rows_of(calls, "c"))) == [b'{"v":"c"}']
    assert (len(calls), cache.computed) == (3, 3)


async def test_the_cache_expires_evicts_and_keeps_no_failure() -> None:
    calls: list[int] = []
    expired = PageCache(ttl=0.0)
    await expired.rows("k", 1, _rows_of(calls, "a"))
    await expired.rows("k", 1, _rows_of(calls, "a"))
    assert len(calls) == 2
    small = PageCache(entries=1)
    await small.rows("a", 1, _rows_of(calls, "a"))
    await small.rows("b", 1, _rows_of(calls, "b"))
    await small.rows("a", 1, _rows_of(calls, "a"))
    assert len(calls) == 5  # "a" was evicted by "b"
    few = PageCache(max_rows=5)
    await few.rows("a", 1, _rows_of(calls, "a", count=3))
    await few.rows("b", 1, _rows_of(calls, "b", count=3))  # 6 rows in all: "a" goes
    await few.rows("b", 1, _rows_of(calls, "b", count=3))
    assert len(calls) == 7
    await few.rows("a", 1, _rows_of(calls, "a", count=3))
    assert len(calls) == 8
    await few.rows("big", 1, _rows_of(calls, "x", count=6))  # more than the cap: served, not kept
    await few.rows("big", 1, _rows_of(calls, "x", count=6))
    assert len(calls) == 10

    def failing() -> Callable[[], Rows[str]]:
        def compute() -> Rows[str]:
            raise InputError("period: no such period")

        return compute

    with pytest.raises(InputError, match="period"):
        await small.rows("bad", 1, failing)
    assert _all(await small.rows("bad", 1, _rows_of(calls, "ok"))) == [b'{"v":"ok"}']


def _all(rows: Rows[Any]) -> list[bytes]:
    return rows.encoded(0, len(rows))
