"""An answer's "typing…": one call, from spare send budget only.

When there is no spare budget as the answer starts, the answer gets in the limiter's line
for first signs of life (:meth:`PriorityLimiter.first_sign_turn`); its turn is given up
when something else shows first (a preview, the answer itself) or the update ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiolimiter import AsyncLimiter

from app.bot.delivery.priority_limiter import PriorityLimiter, take_spare

__all__ = ["TypingIndicator"]

logger = logging.getLogger(__name__)


class TypingIndicator:
    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        message_thread_id: int | None,
        limiter: AsyncLimiter,
        *,
        wanted: Callable[[], bool],
        on_sent: Callable[[], None],
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._thread_id = message_thread_id
        self._limiter = limiter
        self._wanted = wanted  # still nothing shown and the answer not over
        self._on_sent = on_sent
        self._call: asyncio.Task[None] | None = None  # the sendChatAction, in flight
        self._turn: asyncio.Task[None] | None = None  # in line for spare budget

    async def start(self, *, first: bool) -> None:
        """Send "typing…" now if spare budget exists, else when this answer's turn comes.

        The call goes out in the background: the model request does not wait for
        Telegram's reply (under load, every await before it costs a turn of the whole
        event loop)."""
        if self._call is not None or self._turn is not None:
            return
        if await take_spare(self._limiter, first=first):
            self._send()
        elif isinstance(self._limiter, PriorityLimiter):
            # A busy bot must not spend a final's budget on a cosmetic indicator, but the
            # next spare unit is this answer's if it is next in line. It is given up when
            # the update ends, however it ends.
            turn = asyncio.create_task(self._in_turn(self._limiter))
            self._turn = turn
            owner = asyncio.current_task()
            if owner is not None:
                give_up = lambda _: turn.cancel()  # noqa: E731
                owner.add_done_callback(give_up)
                turn.add_done_callback(lambda _: owner.remove_done_callback(give_up))

    def give_up(self) -> None:
        """Something else is shown (or the answer is over): leave the line."""
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()

    async def sent(self) -> None:
        """Wait for the typing call, if one is on its way: text must not overtake it."""
        call = self._call
        if call is not None and not call.done():
            await asyncio.wait({call})

    def _send(self) -> None:
        self._on_sent()
        self._call = asyncio.create_task(self._send_chat_action())

    async def _in_turn(self, limiter: PriorityLimiter) -> None:
        await limiter.first_sign_turn()
        if self._wanted():
            self._send()
        else:  # a preview or the answer itself got there first
            limiter.give_back()

    async def _send_chat_action(self) -> None:
        try:
            await self._bot.send_chat_action(
                chat_id=self._chat_id, action=ChatAction.TYPING, message_thread_id=self._thread_id
            )
        except TelegramAPIError:
            logger.debug("typing indicator failed", exc_info=True)
