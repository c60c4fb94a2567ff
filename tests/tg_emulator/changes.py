"""One wake-up signal for everything that waits on the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


class Changes:
    """Long polls, the webhook pusher and test waits sleep here until something changes.

    Each ``notify`` sets the current event and starts a new one, so a waiter that took the
    event before the change is woken, and one that comes later waits for the next change.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Return on the next change, or after ``seconds`` without one."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))

    async def until(self, predicate: Callable[[], Any], within: float) -> Any:
        """Wait until ``predicate()`` is truthy and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {within}s")
            # The short re-check covers predicates over time, which no change announces.
            await self.wait(min(remaining, 0.05))
