"""The Bot API calls of one streamed answer, and the loop that lands a final message.

Kept apart from :mod:`app.bot.delivery.streaming`, which decides *when* to show what: here is only
*how* one call is made (no parse mode: entities are never combined with a default parse
mode) and how a final call is repeated until Telegram has it.

Repeating is safe when Telegram surely did not act on the call: a 429 (RetryAfter), an
error Telegram answered with, a connection that was never made. An edit is safe to repeat
anyway (the same text again is "not modified"). A ``sendMessage`` whose answer was lost on
the way (a timeout, a dropped connection) may have been delivered: it is not sent again
(:class:`DeliveryUncertain`), since a second message would duplicate the answer. The
answer itself was kept in the conversation before it was sent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    InlineKeyboardMarkup,
    InputRichMessage,
    Message,
    MessageEntity,
    ReplyParameters,
)
from aiolimiter import AsyncLimiter

from app.bot.rendering.markdown import RenderedPart

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]


def is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


def is_missing_message(exc: TelegramBadRequest) -> bool:
    return "message to edit not found" in exc.message.lower()


def is_format_error(exc: TelegramBadRequest) -> bool:
    # Telegram words it as "can't parse entities: ...", "entity ... is invalid", "... entity
    # ... too long" etc.; anything about entities means the plain-text resend will work.
    msg = exc.message.lower()
    return "parse" in msg or "entit" in msg


class DeliveryUncertain(TelegramAPIError):
    """A message send whose answer was lost: Telegram may have delivered it. Never sent
    again (a TelegramAPIError, but not a TelegramNetworkError, so it is not retried)."""


def surely_not_sent(exc: TelegramNetworkError) -> bool:
    """Whether the request never reached Telegram: the connection was not made (refused,
    DNS, TLS, a connect timeout). After that, a timeout or a dropped connection may come
    after Telegram acted on the request."""
    return isinstance(exc.__cause__, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _entities(part: RenderedPart) -> list[MessageEntity] | None:
    return part.entities or None


@dataclass
class AnswerCalls:
    """Raw calls into one chat (and forum topic), replying to the asking message."""

    bot: Bot
    chat_id: int
    draft_id: int
    message_thread_id: int | None = None
    reply_to_message_id: int | None = None

    async def draft(self, part: RenderedPart) -> bool:
        return await self.bot.send_message_draft(
            chat_id=self.chat_id,
            draft_id=self.draft_id,
            message_thread_id=self.message_thread_id,
            text=part.text,
            entities=_entities(part),
            parse_mode=None,
        )

    def _reply(self, reply: bool) -> ReplyParameters | None:
        if reply and self.reply_to_message_id is not None:
            return ReplyParameters(
                message_id=self.reply_to_message_id, allow_sending_without_reply=True
            )
        return None

    async def send(
        self, part: RenderedPart, *, reply: bool, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        reply_parameters = self._reply(reply)
        try:
            return await self.bot.send_message(
                chat_id=self.chat_id,
                message_thread_id=self.message_thread_id,
                text=part.text,
                entities=_entities(part),
                parse_mode=None,
                reply_parameters=reply_parameters,
                reply_markup=markup,
            )
        except TelegramNetworkError as exc:
            if surely_not_sent(exc):
                raise  # deliver_final sends it again
            logger.warning(
                "sendMessage in chat %s may have been delivered (%s); not sent again",
                self.chat_id,
                exc.message,
            )
            raise DeliveryUncertain(exc.method, exc.message) from exc

    async def edit(
        self, message: Message, part: RenderedPart, markup: InlineKeyboardMarkup | None = None
    ) -> Message | bool:
        # Without reply_markup Telegram drops the keyboard: the final edit clears ⏹ Stop.
        return await self.bot.edit_message_text(
            chat_id=self.chat_id,
            message_id=message.message_id,
            text=part.text,
            entities=_entities(part),
            parse_mode=None,
            reply_markup=markup,
        )

    # Bot API 10.x rich messages (app.bot.delivery.rich_support decides whether to use them).

    async def rich_draft(self, rich: InputRichMessage) -> bool:
        # can_stop: Telegram's own Stop button; keep_on_stop: what was written stays shown
        # until the final message (the partial answer) replaces it.
        return await self.bot.send_rich_message_draft(
            chat_id=self.chat_id,
            draft_id=self.draft_id,
            rich_message=rich,
            message_thread_id=self.message_thread_id,
            can_stop=True,
            keep_on_stop=True,
        )

    async def rich_send(
        self, rich: InputRichMessage, *, reply: bool, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        try:
            return await self.bot.send_rich_message(
                chat_id=self.chat_id,
                rich_message=rich,
                message_thread_id=self.message_thread_id,
                reply_parameters=self._reply(reply),
                reply_markup=markup,
            )
        except TelegramNetworkError as exc:
            if surely_not_sent(exc):
                raise
            logger.warning(
                "sendRichMessage in chat %s may have been delivered (%s); not sent again",
                self.chat_id,
                exc.message,
            )
            raise DeliveryUncertain(exc.method, exc.message) from exc

    async def rich_edit(
        self, message: Message, rich: InputRichMessage, markup: InlineKeyboardMarkup | None = None
    ) -> Message | bool:
        return await self.bot.edit_message_text(
            chat_id=self.chat_id,
            message_id=message.message_id,
            rich_message=rich,
            reply_markup=markup,
        )


async def deliver_final(
    call: Callable[[RenderedPart], Awaitable[Any]],
    part: RenderedPart,
    *,
    limiter: AsyncLimiter,
    sleep: Sleep,
    attempts: int,
    counted: Callable[[], None],
    chat_id: int,
) -> Any:
    """Make one final call until it lands: waits out RetryAfter (the same call again, never a
    second message), drops formatting if needed. Final calls wait for the limiter: they are
    served before any preview (app.bot.delivery.priority_limiter)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            async with limiter:
                counted()
                return await call(part)
        except TelegramRetryAfter as exc:
            if attempt >= attempts:
                raise
            logger.info("RetryAfter %ss on final message in chat %s", exc.retry_after, chat_id)
            await sleep(exc.retry_after)
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return True  # already shows exactly this text
            if part.entities and is_format_error(exc):
                logger.warning("Telegram rejected formatting (%s); sending plain text", exc)
                part = RenderedPart(part.text, [])
                continue
            raise
        except (TelegramNetworkError, TelegramServerError):
            if attempt >= min(attempts, 4):
                raise
            await sleep(min(2.0**attempt, 10.0))
