"""`kernel.finish_thread`: a cancelled caller waits for its worker thread (which may hold a connection)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from netmon.kernel import finish_thread


async def test_a_cancelled_call_lets_its_thread_end_before_the_cancellation_is_raised() -> None:
    started, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def work() -> str:
        started.set()
        release.wait(10)
        ended.append("ended")
        return "result"

    task = asyncio.create_task(finish_thread(work))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=0.3)
    assert not done  # still waiting for the thread, which holds what it took
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended == ["ended"]  # the thread had ended by the time the cancellation came through


async def test_an_uncancelled_call_returns_its_result_and_raises_its_error() -> None:
    assert await finish_thread(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        await finish_thread(divmod, 1, 0)


async def test_what_a_cancelled_call_still_returns_goes_to_on_late() -> None:
    started, release = threading.Event(), threading.Event()
    handed: list[str] = []

    def work() -> str:
        started.set()
        release.wait(10)
        return "connection"

    task = asyncio.create_task(finish_thread(work, on_late=handed.append))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert handed == ["connection"]  # not dropped: the caller that would have received it is gone


async def test_on_late_is_not_called_when_the_caller_receives_the_result() -> None:
    handed: list[object] = []
    assert await finish_thread(str, 5, on_late=handed.append) == "5"
    assert handed == []
