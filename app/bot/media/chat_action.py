"""A chat action ("sending a photo…", "typing…") kept alive for work that outlasts one:
Telegram shows an action for about 5 seconds, a picture or a long document takes longer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger(__name__)

REPEAT_SECONDS = 4.5  # a little under Telegram's ~5 s display


@contextlib.asynccontextmanager
async def keep_chat_action(
    bot: Bot,
    chat_id: int,
    action: ChatAction,
    *,
    thread_id: int | None = None,
    every: float | None = None,
) -> AsyncIterator[None]:
    """Show ``action`` now and again every ``every`` seconds (REPEAT_SECONDS) until the
    block is left."""
    pause = REPEAT_SECONDS if every is None else every

    async def repeat() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, action, message_thread_id=thread_id)
            except TelegramAPIError as exc:  # cosmetic: the work goes on without it
                log.debug("chat action in %s not shown: %s", chat_id, exc)
            await asyncio.sleep(pause)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        # Not awaited: the block's own cancellation, if that is why it ends, must not be
        # swallowed with the repeater's.
        task.cancel()
