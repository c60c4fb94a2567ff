"""A reply of the bot's own (``/help``, ``/me``) as a rich message where the process has
them, else as today's text: the same rule as answers (app.bot.delivery.rich_support), for
texts that read better with a heading, a list or a table."""

from __future__ import annotations

import asyncio
import logging

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Message

from app.bot.chat.threads import answer_thread
from app.bot.delivery.rich_support import RichMessages
from app.bot.rendering.rich import rich_parts

log = logging.getLogger(__name__)


async def reply_rich(
    message: Message,
    markdown: str,
    *,
    fallback: str,
    rich: RichMessages,
    parse_mode: str | None = None,
) -> Message:
    """Answer ``message`` with ``markdown`` as one rich message, or with ``fallback`` (in
    ``parse_mode``) where rich messages are off, missing or refused."""
    if rich.available and message.bot is not None:
        parts = await asyncio.to_thread(rich_parts, markdown)
        if len(parts) == 1:
            try:
                return await message.bot.send_rich_message(
                    chat_id=message.chat.id,
                    rich_message=parts[0],
                    message_thread_id=answer_thread(message),
                )
            except TelegramBadRequest as exc:
                log.warning("rich reply refused in chat %s (%s); plain", message.chat.id, exc)
            except TelegramAPIError as exc:
                if not rich.server_lacks_them(exc):
                    raise
    return await message.answer(fallback, parse_mode=parse_mode)
