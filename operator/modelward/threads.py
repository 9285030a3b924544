"""Blocking work in a thread that stops when its caller is cancelled.

`asyncio.to_thread` abandons a thread on cancellation, and the thread keeps writing: into a
work directory that the deadline handler is already removing. Stoppable work checks an
event between chunks, and the cancelled caller waits (bounded) until it has stopped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
STOP_WAIT_SECONDS = 5.0


async def run_stoppable(fn: Callable[[threading.Event], T]) -> T:
    """Run `fn(stop)` in a thread; on cancellation set `stop` and wait for `fn` to return."""
    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(fn, stop))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([task], timeout=STOP_WAIT_SECONDS)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller is cancelled and wants no result
        raise
