"""Updates take their first steps in arrival order, a few per turn of the event loop.

A burst (200 messages in one getUpdates batch) becomes 200 aiogram tasks at once, and the
event loop runs them turn by turn: the few milliseconds of CPU each update spends before
its answer starts (middlewares, history, budget) interleave with every other's, and the
model streams already open wait behind the whole batch. The first answers finished as late
as the last update was read in.

The intake lets ``width`` updates through that part at a time, first come first served.
An update hands its place on as soon as its answer starts (:func:`leave_intake`, called
when "typing…" is on its way), when it is done, or after ``hold`` seconds at most: one
waiting for a slow database must not hold the line, so only CPU is put in order, never
I/O. With no burst nobody waits, and entering costs no turn of the event loop.

Places also go out at most ``width`` per turn of the loop. An update whose first steps
never wait (in-memory storage) leaves within the same turn it entered, so places alone
would let a whole batch run back to back in one turn: 100 updates at about 1.2 ms each
kept everything else off the loop for 0.12 s, including the next getUpdates (on Python
3.11 aiohttp writes a request body in a task of its own) and the model chunks already
read. Between two turns' worth of updates, the I/O that is ready runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from app.services.chat.place import intake_leave, leave_intake

DEFAULT_WIDTH = 4
DEFAULT_HOLD = 0.02


class UpdateIntake(BaseMiddleware):
    def __init__(self, width: int = DEFAULT_WIDTH, hold: float = DEFAULT_HOLD) -> None:
        self.width = max(1, width)
        self.hold = hold
        self.inside = 0
        self.waited = 0  # counters for benchmarks and logs
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._granted_this_turn = 0
        self._next_turn: asyncio.Handle | None = None

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        await self._enter()
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                timer.cancel()
                self._pass_on()

        timer = asyncio.get_running_loop().call_later(self.hold, leave)
        token = intake_leave.set(leave)
        try:
            return await handler(event, data)
        finally:
            leave()
            intake_leave.reset(token)

    async def _enter(self) -> None:
        if not self._waiters and self._may_grant():
            self._count_grant()
            return
        self.waited += 1
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(place)
        try:
            await place  # the place is counted in ``inside`` by whoever granted it
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self._pass_on()  # granted in the same instant: hand it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(place)
            raise

    def _may_grant(self) -> bool:
        return self.inside < self.width and self._granted_this_turn < self.width

    def _count_grant(self) -> None:
        self.inside += 1
        self._granted_this_turn += 1
        if self._next_turn is None:
            # Runs once everything already scheduled for this turn of the loop has run.
            self._next_turn = asyncio.get_running_loop().call_soon(self._new_turn)

    def _new_turn(self) -> None:
        self._next_turn = None
        self._granted_this_turn = 0
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self._may_grant():
            place = self._waiters.popleft()
            if not place.done():
                self._count_grant()
                place.set_result(None)

    def _pass_on(self) -> None:
        self.inside -= 1
        self._grant()


__all__ = ["DEFAULT_HOLD", "DEFAULT_WIDTH", "UpdateIntake", "leave_intake"]
