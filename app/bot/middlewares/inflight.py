"""Tracks updates being handled, so a stopping bot can let them finish (and record their
usage) before it closes storage. aiogram itself does not wait for them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InFlightUpdates(BaseMiddleware):
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def count(self) -> int:
        return self._count

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._count += 1
        self._idle.clear()
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            if task is not None:
                self._tasks.discard(task)
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def cancel_all(self, wait_seconds: float = 5.0) -> int:
        """Cancel the updates still running (the grace is over): a cancelled model call
        records its usage as partial and settles its budget before storage closes.
        Returns how many were cancelled."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=wait_seconds)
        return len(tasks)

    async def wait_idle(self, grace_seconds: float) -> bool:
        """True when every update finished within ``grace_seconds``."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            return False
        return True
