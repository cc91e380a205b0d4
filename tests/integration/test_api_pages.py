"""`/api/v1/indicators` and `/api/v1/outages` of a running daemon: pages, filters, and 400s that name the parameter.

Issue 12: the answers are computed and serialised off the event loop (unit-tested in
tests/unit/test_pages.py); here the served pages are followed end to end.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from netmon.api import service
from netmon.api.openapi import spec
from netmon.daemon import Daemon
from netmon.kernel import utcnow
from tests.integration.test_daemon import _all_up, _fetch, config_for
from tests.monitoring import running

__all__ = ["config_for"]  # the fixture, shared with test_daemon.py


async def _follow(daemon: Daemon, path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow `next` from *path*; return every row and the pages' envelopes (bounded to 50 pages)."""
    rows: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    link: str | None = path
    while link is not None and len(pages) < 50:
        status, body = await _fetch(daemon, link)
        assert status == 200, body
        key = "indicators" if "indicators" in path else "outages"
        rows += body.pop(key)
        pages.append(body)
        link = body["next"]
    return rows, pages


async def test_indicators_and_outages_come_a_page_at_a_time(config_for: Any) -> None:
    async with running(config_for()) as daemon:
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: _all_up(daemon))
        status, whole = await _fetch(daemon, "/api/v1/indicators?period=live&limit=10000")
        assert status == 200
        assert whole["count"] == whole["total"] == len(whole["indicators"]) > 7
        assert whole["next"] is None
        rows, pages = await _follow(daemon, "/api/v1/indicators?period=live&limit=7")
        assert rows == whole["indicators"]  # every row once, in order
        assert len(pages) == -(-whole["total"] // 7)
        assert all(p["total"] == whole["total"] and p["limit"] == 7 for p in pages)
        assert [p["offset"] for p in pages] == list(range(0, whole["total"], 7))
        status, ward = await _fetch(daemon, "/api/v1/indicators?period=live&unit=P-D1&indicator=lan_units")
        assert status == 200
        assert {(r["indicator"], r["unit"]) for r in ward["indicators"]} == {
            ("lan_units", "P-D1"),
            ("lan_units", "P-D1-W1"),
        }  # the unit and those below, no roll-ups
        status, body = await _fetch(daemon, "/api/v1/outages?limit=1")
        assert status == 200
        assert (body["count"], body["total"], body["offset"], body["limit"]) == (0, 0, 0, 1)


async def test_bad_pages_and_filters_are_400s_naming_the_parameter(config_for: Any) -> None:
    async with running(config_for()) as daemon:
        for path, named in [
            ("/api/v1/indicators?limit=0", "limit"),
            ("/api/v1/indicators?limit=100001", "limit"),
            ("/api/v1/indicators?offset=-3", "offset"),
            ("/api/v1/indicators?indicator=nope", "indicator"),
            ("/api/v1/indicators?unit=NOPE", "unit"),
            ("/api/v1/outages?limit=abc", "limit"),
            ("/api/v1/outages?offset=x", "offset"),
            ("/api/v1/outages?since=yesterday", "since"),
        ]:
            status, body = await _fetch(daemon, path)
            assert (status, body["error"].split(":")[0]) == (400, named), path
        _, body = await _fetch(daemon, "/api/v1/outages?unit=NOPE")
        assert body["error"] == "unit: no unit with code 'NOPE'"  # the CLI's words (inventory.views.require_unit)


def test_the_openapi_document_describes_the_pages() -> None:
    for path, key in (("/api/v1/indicators", "indicators"), ("/api/v1/outages", "outages")):
        operation = spec()["paths"][path]["get"]
        assert {"limit", "offset"} <= {p["name"] for p in operation["parameters"]}
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert set(answer["required"]) == {key, "count", "total", "offset", "limit", "next"}
    indicators = spec()["paths"]["/api/v1/indicators"]["get"]["parameters"]
    assert {"period", "level", "unit", "indicator"} <= {p["name"] for p in indicators}


async def test_live_indicators_are_the_indicator_loops_rows_while_they_hold(
    config_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(config_for()) as daemon:
        runtime = daemon.runtime

        def kept_rows_hold() -> bool:
            kept, live = runtime.live_rows, runtime.live
            return kept is not None and kept.holds(
                live.inventory, runtime.catalog, utcnow().date(), live.indicator_states()
            )

        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: _all_up(daemon) and kept_rows_hold())
        status, whole = await _fetch(daemon, "/api/v1/indicators?period=live&limit=10000")
        assert status == 200
        if not kept_rows_hold():  # a round moved a state meanwhile (bounded: the lab answers)
            async with asyncio.timeout(20):
                await daemon.wait_until(kept_rows_hold)

        def computed_again(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("live indicators computed again while the loop's rows hold")

        monkeypatch.setattr(service, "live_rows", computed_again)
        status, commune = await _fetch(daemon, "/api/v1/indicators?period=live&level=commune&limit=10000")
        assert status == 200, commune  # served from the loop's rows: the computation above is not called
        assert commune["indicators"] == [row for row in whole["indicators"] if row["level"] == "commune"]
        assert commune["total"] > 0
