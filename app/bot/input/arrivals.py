"""Marks, in arrival order, the private messages that open a turn in pieces (see
TurnCollector.mark). The first outer middleware: it runs before the update waits for
anything, so the marks follow the order in which Telegram delivered the updates."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from app.bot.chat.threads import is_private
from app.bot.input.pieces import piece_key, starts_turn
from app.services.input.collector import TurnCollector


class MarkTurnStarts(BaseMiddleware):
    def __init__(self, collector: TurnCollector) -> None:
        self._collector = collector

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        message = event.message if isinstance(event, Update) else None
        # Groups are left to storage: a mark there could make the bot collect a message
        # that is not addressed to it.
        if (
            message is not None
            and message.from_user is not None
            and is_private(message.chat)
            and starts_turn(message)
        ):
            self._collector.mark(piece_key(message, message.from_user.id))
        return await handler(event, data)
