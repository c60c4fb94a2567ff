"""Admission of model streams: start new answers only while the process keeps up.

Reading a stream costs CPU (litellm parses every chunk), and one event loop serves every
answer. When 200 people write at once and all 200 streams start together, they share the
CPU evenly and all finish late and together; then their final messages queue behind the
send budget one after another. Answers that start in order instead finish in order, so
the first final messages go out while later answers are still being read, and nobody's
answer is slowed by 199 others.

So a stream starts at once while fewer than ``floor`` run; beyond that the next one in
line starts when the event loop is not saturated (:class:`app.services.chat.load.LoopLoad`),
at most ``starts_per_second``. A bot whose models are slow (the usual case: the vendor,
not the CPU, is the wait) is never busy, so every answer starts without delay. Waiting
answers are stoppable (/stop); they already show "typing…".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.services.chat.load import LoopLoad, NeverBusy

DEFAULT_FLOOR = 8
DEFAULT_STARTS_PER_SECOND = 50.0
POLL_SECONDS = 0.02


class AnswerGate:
    def __init__(
        self,
        load: LoopLoad | None = None,
        *,
        floor: int = DEFAULT_FLOOR,
        starts_per_second: float = DEFAULT_STARTS_PER_SECOND,
        poll: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load or NeverBusy()
        self.floor = max(1, floor)
        self._min_gap = 1.0 / starts_per_second if starts_per_second > 0 else 0.0
        self._poll = poll
        self._clock = clock
        self.running = 0
        self.started = 0  # counters for benchmarks and logs
        self.waited = 0
        self._last_start = float("-inf")
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        # Asked on every preview: O(1). A waiter that gives up removes itself (_abandon).
        return len(self._waiters)

    @contextlib.asynccontextmanager
    async def slot(self, stop: asyncio.Event | None = None) -> AsyncIterator[bool]:
        """Hold a place for one model stream. Yields False (and holds nothing) when
        ``stop`` was set while the answer waited for its turn."""
        admitted = await self._enter(stop)
        try:
            yield admitted
        finally:
            if admitted:
                self._leave()

    async def _enter(self, stop: asyncio.Event | None) -> bool:
        if stop is not None and stop.is_set():
            return False
        if not self._waiters and self._may_start():
            self._start()
            return True
        self.waited += 1
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._schedule()
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        try:
            if stopper is None:
                await asyncio.shield(fut)
            else:
                either: set[asyncio.Future[Any]] = {fut, stopper}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._abandon(fut)
            raise
        finally:
            if stopper is not None:
                stopper.cancel()
        if stop is not None and stop.is_set():
            self._abandon(fut)
            return False
        return True

    def _abandon(self, fut: asyncio.Future[None]) -> None:
        if fut.done() and not fut.cancelled():
            self._leave()  # admitted in the same instant: hand the place on
            return
        fut.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(fut)

    def _may_start(self) -> bool:
        if self.running < self.floor:
            return True
        if self._clock() - self._last_start < self._min_gap:
            return False
        return not self._load.busy()

    def _start(self) -> None:
        self.running += 1
        self.started += 1
        self._last_start = self._clock()

    def _leave(self) -> None:
        self.running -= 1
        self._admit()

    def _admit(self) -> None:
        while self._waiters and self._may_start():
            fut = self._waiters.popleft()
            if fut.done():
                continue  # abandoned (stopped or cancelled)
            self._start()
            fut.set_result(None)
        if self._waiters:
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._poll, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._admit()


__all__ = ["AnswerGate"]
