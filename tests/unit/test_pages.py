"""Big answers off the loop (netmon.api.pages): pages, and the cache of serialised rows (issue 12)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest

from netmon.api.pages import MAX_LIMIT, Page, PageCache, encode_rows, page_body
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
    rows = encode_rows([{"n": i, "name": "Phường Một"} for i in range(7)])
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
    assert b"Ph\xc6\xb0\xe1\xbb\x9dng" in rows[0]  # UTF-8, not \u escapes
    past = json.loads(await page_body("items", rows, Page(offset=50, limit=3), str))
    assert (past["items"], past["count"], past["next"]) == ([], 0, None)


def _rows_of(calls: list[int], value: str) -> Callable[[], Callable[[], list[bytes]]]:
    def prepare() -> Callable[[], list[bytes]]:
        loop_thread = threading.get_ident()

        def compute() -> list[bytes]:
            calls.append(threading.get_ident())
            assert threading.get_ident() != loop_thread  # computed and serialised in a worker thread
            return encode_rows([{"v": value}])

        return compute

    return prepare


async def test_the_cache_computes_once_per_stamp_and_shares_concurrent_requests() -> None:
    cache, calls = PageCache(), list[int]()
    first = await asyncio.gather(*(cache.rows("k", 1, _rows_of(calls, "a")) for _ in range(5)))
    assert len(calls) == 1
    assert all(rows == [b'{"v":"a"}'] for rows in first)
    assert await cache.rows("k", 1, _rows_of(calls, "b")) == [b'{"v":"a"}']  # cached
    assert await cache.rows("k", 2, _rows_of(calls, "b")) == [b'{"v":"b"}']  # the state changed
    assert await cache.rows("other", 2, _rows_of(calls, "c")) == [b'{"v":"c"}']
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

    def failing() -> Callable[[], list[bytes]]:
        def compute() -> list[bytes]:
            raise InputError("period: no such period")

        return compute

    with pytest.raises(InputError, match="period"):
        await small.rows("bad", 1, failing)
    assert await small.rows("bad", 1, _rows_of(calls, "ok")) == [b'{"v":"ok"}']
