"""Liveness for the container health check: the heartbeat file is touched only while the bot
really talks to Telegram (long polling answers at least every polling timeout), so a process
that hangs, or keeps failing to reach the Bot API, turns unhealthy instead of looking fine."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType


class LastContact(BaseRequestMiddleware):
    """Remembers when a Bot API call last succeeded."""

    def __init__(self) -> None:
        self.at = time.monotonic()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        result = await make_request(bot, method)
        self.at = time.monotonic()
        return result


def beat(contact: LastContact, path: Path, max_silence: float) -> bool:
    """Touch ``path`` if Telegram answered within ``max_silence`` seconds; True if touched."""
    if time.monotonic() - contact.at > max_silence:
        return False
    with contextlib.suppress(OSError):
        path.touch()
    return True


async def heartbeat(
    contact: LastContact, path: Path, *, interval: float = 30.0, max_silence: float = 90.0
) -> None:
    while True:
        beat(contact, path, max_silence)
        await asyncio.sleep(interval)
