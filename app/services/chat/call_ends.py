"""The end of a model call, after its answer was delivered.

An answer goes out as soon as the model has finished writing (``TextComplete``); the end
of its call (the vendor's usage, litellm's end-of-stream work, the usage record and the
budget settlement) is read on in a task of its own. Three rules keep that invisible:

- The conversation's lock is free during it: a button pressed right after the answer
  arrived is not told that an answer is still being written.
- The next answer of the conversation (or a pressed button's) starts only after it, once
  the lock is taken again: its budget check sees the previous call settled, as before.
- It belongs to the update that started it: that update waits for it once the lock is
  released, so stopping the bot waits for it too, and its usage is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Literal


class AnswerLock(asyncio.Lock):
    """One answer at a time per conversation, each after the end of the previous call."""

    def __init__(self) -> None:
        super().__init__()
        # The end of the last call (kept alive meanwhile: ``holding`` waits for it with
        # this lock in hand, so the dictionary of locks cannot drop it).
        self.ending: asyncio.Task[None] | None = None

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        ending, self.ending = self.ending, None
        if ending is not None:
            waited = False
            try:
                await asyncio.wait({ending})
                waited = True
            finally:
                if not waited:  # cancelled meanwhile: the lock is not taken after all
                    self.release()
        return True


_current: ContextVar[tuple[AnswerLock, list[asyncio.Task[None]]] | None] = ContextVar(
    "call_ends", default=None
)


@contextlib.asynccontextmanager
async def holding(lock: AnswerLock) -> AsyncIterator[None]:
    """Hold ``lock`` for one answer; the calls that end in the background meanwhile are
    waited for after it is released."""
    ends: list[asyncio.Task[None]] = []
    token = _current.set((lock, ends))
    try:
        async with lock:
            yield
    finally:
        _current.reset(token)
        if ends:
            try:
                await asyncio.wait(ends)
            except asyncio.CancelledError:
                # Stopping the bot: the calls go with the update, each recorded as partial.
                for end in ends:
                    end.cancel()
                await asyncio.wait(ends)
                raise


def pending_ends() -> list[asyncio.Task[None]]:
    """The calls still ending in the current ``holding``: what later work charged to the
    same user (a conversation title) waits for, so that its budget check sees them
    settled."""
    current = _current.get()
    return list(current[1]) if current is not None else []


async def end_later(end: asyncio.Task[None]) -> None:
    """Leave ``end`` to the enclosing ``holding``; outside one, wait for it now."""
    current = _current.get()
    if current is None:
        await asyncio.wait({end})
        return
    lock, ends = current
    ends.append(end)
    lock.ending = end


__all__ = ["AnswerLock", "end_later", "holding", "pending_ends"]
