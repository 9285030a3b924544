"""Stoppable thread work: a cancelled caller returns only once the thread has stopped."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from modelward import threads


async def test_cancelled_caller_waits_for_the_thread_to_stop() -> None:
    state = {"running": False, "chunks": 0}

    def work(stop: threading.Event) -> int:
        state["running"] = True
        while not stop.is_set():
            state["chunks"] += 1
            time.sleep(0.01)
        state["running"] = False
        return state["chunks"]

    task = asyncio.ensure_future(threads.run_stoppable(work))
    await asyncio.sleep(0.1)
    assert state["running"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not state["running"], "the thread must have stopped before the caller resumes"
    chunks = state["chunks"]
    await asyncio.sleep(0.05)
    assert state["chunks"] == chunks


async def test_result_and_errors_pass_through() -> None:
    assert await threads.run_stoppable(lambda stop: 42) == 42

    def fail(stop: threading.Event) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await threads.run_stoppable(fail)
