"""The shared ends of the storage's write queues (the usage sink, the write-behind
conversation writes, the pending spend): wait until a queue is empty, and stop its
background task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


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
