"""The shared ends of the storage's write queues (the usage sink, the write-behind
conversation writes, the pending spend): back off after a failed write, wait until a
queue is empty, and stop its background task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.storage.breaker import CircuitBreaker


async def back_off(breaker: CircuitBreaker | None, delay: float) -> None:
    """After a failed write: while the breaker says the database is down, wait for its
    probe to see it back (a retry now would fail at once), at most ``delay`` seconds;
    otherwise sleep ``delay``."""
    if breaker is not None and not breaker.available:
        await breaker.wait_available(delay)
    else:
        await asyncio.sleep(delay)


async def until_empty(
    pending: Callable[[], bool], within: float | None, poll: float = 0.02
) -> bool:
    """Wait while ``pending()`` holds, at most ``within`` seconds (None: no bound); True
    when it stopped holding."""
    loop = asyncio.get_running_loop()
    deadline = None if within is None else loop.time() + within
    while pending():
        if deadline is not None and loop.time() >= deadline:
            return False
        await asyncio.sleep(poll)
    return True


async def stop_task(task: asyncio.Task[None] | None, wakeup: asyncio.Event | None) -> None:
    """Cancel a queue's background task. Not ``await task``: a cancel that lands as the
    task's own wait completes can be lost (asyncio.wait_for in Python 3.11), and the
    task's loop ends on its queue being closed anyway."""
    if task is None:
        return
    if wakeup is not None:
        wakeup.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1.0)
