"""Stream an LLM answer into Telegram: live previews, then the final rendered message(s).

Private chats preview with ``sendMessageDraft`` (Bot API 9.5+) and finish with ``sendMessage``.
Groups, or any chat where a draft is refused, preview with one sent message that is edited at
most once per ``edit_interval`` and becomes the first final part at the end.

Rules that keep us inside Telegram's flood limits and never lose the answer:
- every call goes through an injected bot-wide :class:`aiolimiter.AsyncLimiter` (~25 msg/s);
  previews are *skipped* when it has no capacity, final messages wait for it;
- previews are throttled per streamer and only sent when the text changed enough;
- ``RetryAfter`` on a preview blocks previews until it has passed; on a final message we sleep
  ``retry_after`` and send again;
- "message is not modified" is success; a formatting rejection resends that part as plain text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Message, MessageEntity, ReplyParameters
from aiolimiter import AsyncLimiter

from app.bot.flood import handles_own_flood_control
from app.bot.rendering import (
    TELEGRAM_TEXT_LIMIT,
    RenderedPart,
    render_markdown_async,
    render_plain,
    render_preview_async,
    utf16_len,
)
from app.bot.send_budget import AdaptiveLimiter

__all__ = ["AnswerStreamer", "StreamMode", "make_bot_limiter", "stream_answer"]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]


class StreamMode:
    DRAFT = "draft"
    EDIT = "edit"


def make_bot_limiter(rate_per_second: float = 25.0) -> AdaptiveLimiter:
    """One limiter per Bot, shared by all its streamers (Telegram allows ~30 msg/s per bot).
    Its rate follows this instance's share of the bot-wide budget (app.bot.send_budget)."""
    return AdaptiveLimiter(rate_per_second)


def _is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


def _is_format_error(exc: TelegramBadRequest) -> bool:
    # Telegram words it as "can't parse entities: ...", "entity ... is invalid", "... entity
    # ... too long" etc.; anything about entities means the plain-text resend will work.
    msg = exc.message.lower()
    return "parse" in msg or "entit" in msg


class AnswerStreamer:
    """Turns a growing answer into Telegram previews and, at the end, the final messages.

    One instance per answer. ``update`` never raises on Telegram errors; ``finish`` retries
    until the answer is delivered (it raises only on errors no retry can fix, e.g. the bot was
    blocked by the user).
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        *,
        private: bool,
        limiter: AsyncLimiter,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        draft_interval: float = 0.4,
        edit_interval: float = 1.0,
        min_new_chars: int = 16,
        limit: int = TELEGRAM_TEXT_LIMIT,
        empty_text: str = "…",
        final_attempts: int = 12,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        draft_id: int | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.private = private
        self.reply_to_message_id = reply_to_message_id
        self.message_thread_id = message_thread_id
        self.draft_interval = draft_interval
        self.edit_interval = edit_interval
        self.min_new_chars = min_new_chars
        self.limit = limit
        self.empty_text = empty_text
        self.final_attempts = final_attempts
        self._limiter = limiter
        self._clock = clock
        self._sleep = sleep
        # Non-zero per the Bot API; random so two answers in one chat do not animate into
        # each other.
        self.draft_id = draft_id if draft_id is not None else secrets.randbelow(2**31 - 2) + 1
        self.mode = StreamMode.DRAFT if private else StreamMode.EDIT
        self.calls = 0  # Telegram API calls made by this streamer (benchmarks, logs)
        self.previews_sent = 0
        self.previews_skipped = 0
        self.text_so_far = ""
        self.preview_message: Message | None = None
        self._shown_source = ""  # the source text of the last preview Telegram accepted
        self._shown: RenderedPart | None = None
        self._last_preview_at: float | None = None
        self._blocked_until = 0.0  # RetryAfter on previews: no previews before this time
        self._done = False

    # -- public API ----------------------------------------------------------------------

    @handles_own_flood_control
    async def start(self) -> None:
        """Show "typing…" once: cheap, and covers the model's time to first token."""
        if not self._limiter.has_capacity():
            return  # a busy bot must not delay the model call for a cosmetic indicator
        try:
            await self._call_preview(
                lambda: self.bot.send_chat_action(
                    chat_id=self.chat_id,
                    action=ChatAction.TYPING,
                    message_thread_id=self.message_thread_id,
                )
            )
        except TelegramAPIError:
            logger.debug("typing indicator failed", exc_info=True)

    @handles_own_flood_control
    async def update(self, full_text_so_far: str) -> None:
        """Offer the answer so far; sends a preview only if throttling allows. Never raises."""
        self.text_so_far = full_text_so_far
        if self._done or not full_text_so_far.strip():
            return
        if not self._due(full_text_so_far):
            return
        try:
            await self._push_preview(full_text_so_far)
        except TelegramAPIError:  # a preview is disposable; the final answer is what matters
            logger.warning("preview update failed", exc_info=True)

    @handles_own_flood_control
    async def finish(self, final_text: str, *, footer: str | None = None) -> list[Message]:
        """Deliver the whole answer (rendered, split) and return the messages it now occupies."""
        self._done = True
        self.text_so_far = final_text
        parts = await self._final_parts(final_text, footer)
        messages: list[Message] = []
        for index, part in enumerate(parts):
            if index == 0 and self.preview_message is not None:
                edited = await self._edit_final(self.preview_message, part)
                if edited is not None:
                    messages.append(edited)
                    continue
            messages.append(await self._send_final(part, reply=index == 0))
        return messages

    @handles_own_flood_control
    async def fail(self, error_text: str) -> None:
        """Replace the preview with ``error_text`` (or send it). Never raises."""
        self._done = True
        part = RenderedPart(error_text, [])
        try:
            if self.preview_message is not None:
                edited = await self._edit_final(self.preview_message, part)
                if edited is not None:
                    return
            await self._send_final(part, reply=True)
        except TelegramAPIError:
            logger.exception("could not deliver the error message to chat %s", self.chat_id)

    # -- previews ------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self.draft_interval if self.mode == StreamMode.DRAFT else self.edit_interval

    def _due(self, text: str) -> bool:
        now = self._clock()
        if now < self._blocked_until:
            return False
        if text == self._shown_source:
            return False
        if self._last_preview_at is None:
            return True
        elapsed = now - self._last_preview_at
        if elapsed < self.interval:
            return False
        # A few new characters are not worth a call, unless the preview has been stale for
        # a while (a slow model): then show whatever is new.
        grown = len(text) - len(self._shown_source)
        return abs(grown) >= self.min_new_chars or elapsed >= 3 * self.interval

    async def _push_preview(self, source: str) -> None:
        part = await render_preview_async(source, self.limit)
        if not part.text.strip():
            return
        if self._shown is not None and part == self._shown:
            self._shown_source = source
            return
        if not self._limiter.has_capacity():
            # The bot-wide budget is busy (many conversations): drop this preview rather than
            # queue it; a later update or the final message will show the text.
            self.previews_skipped += 1
            return
        self._last_preview_at = self._clock()
        outcome = await self._try_preview(part)
        if outcome is False and part.entities:
            # Telegram rejected the formatting of the preview: show it unformatted.
            outcome = await self._try_preview(RenderedPart(part.text, []))
        if outcome:
            self.previews_sent += 1
            self._shown_source = source
            self._shown = part
        else:
            self.previews_skipped += 1

    async def _try_preview(self, part: RenderedPart) -> bool | None:
        """One preview attempt: True shown, False formatting rejected, None skipped."""
        try:
            if self.mode == StreamMode.DRAFT:
                try:
                    await self._call_preview(lambda: self._draft(part))
                    return True
                except TelegramBadRequest as exc:
                    if _is_not_modified(exc):
                        return True
                    if _is_format_error(exc):
                        return False
                    # Drafts not available here (not a private chat with drafts, old Bot API
                    # server, ...): switch to the send+edit fallback for the rest of the answer.
                    logger.info("drafts refused in chat %s (%s); using edits", self.chat_id, exc)
                    self.mode = StreamMode.EDIT
            if self.preview_message is None:
                self.preview_message = await self._call_preview(
                    lambda: self._send(part, reply=True)
                )
            else:
                message = self.preview_message
                await self._call_preview(lambda: self._edit(message, part))
            return True
        except TelegramRetryAfter as exc:
            # Skip this preview and keep quiet until Telegram's penalty is over.
            self._blocked_until = self._clock() + exc.retry_after
            return None
        except TelegramBadRequest as exc:
            if _is_not_modified(exc):
                return True
            if _is_format_error(exc):
                return False
            if self.mode == StreamMode.EDIT and self.preview_message is not None:
                # e.g. the preview message was deleted: the final parts will be sent fresh.
                logger.info("preview edit failed in chat %s: %s", self.chat_id, exc)
                self.preview_message = None
            return None

    async def _call_preview(self, make: Callable[[], Awaitable[Any]]) -> Any:
        async with self._limiter:
            self.calls += 1
            return await make()

    # -- final delivery ------------------------------------------------------------------

    async def _final_parts(self, final_text: str, footer: str | None) -> list[RenderedPart]:
        # Long answers render in a worker thread: the event loop keeps serving other chats.
        parts = await render_markdown_async(final_text, self.limit)
        if footer and footer.strip():
            footer = footer.strip()
            if parts:
                last = parts[-1]
                joined = f"{last.text}\n\n{footer}"
                if utf16_len(joined) <= self.limit:
                    # Entities of the last part keep their offsets: the footer is appended.
                    parts[-1] = RenderedPart(joined, last.entities)
                else:
                    parts.extend(RenderedPart(p, []) for p in render_plain(footer, self.limit))
            else:
                parts = [RenderedPart(p, []) for p in render_plain(footer, self.limit)]
        if not parts:
            parts = [RenderedPart(self.empty_text, [])]
        return parts

    async def _send_final(self, part: RenderedPart, *, reply: bool) -> Message:
        message: Message = await self._deliver(lambda p: self._send(p, reply=reply), part)
        return message

    async def _edit_final(self, message: Message, part: RenderedPart) -> Message | None:
        """Edit the preview into ``part``; None if the message cannot be edited (send anew)."""
        try:
            result = await self._deliver(lambda p: self._edit(message, p), part)
        except TelegramBadRequest as exc:
            logger.info("final edit failed in chat %s (%s); sending anew", self.chat_id, exc)
            self.preview_message = None
            return None
        self.preview_message = None
        # editMessageText returns True for inline messages only; ours is a bot message.
        return result if isinstance(result, Message) else message

    async def _deliver(
        self, call: Callable[[RenderedPart], Awaitable[Any]], part: RenderedPart
    ) -> Any:
        """Make one final call until it lands: waits out RetryAfter, drops formatting if needed."""
        # A preview just got RetryAfter: calling now would only earn another one.
        wait = self._blocked_until - self._clock()
        if wait > 0:
            await self._sleep(wait)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._limiter:
                    self.calls += 1
                    return await call(part)
            except TelegramRetryAfter as exc:
                if attempt >= self.final_attempts:
                    raise
                logger.info(
                    "RetryAfter %ss on final message in chat %s", exc.retry_after, self.chat_id
                )
                await self._sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                if _is_not_modified(exc):
                    return True  # already shows exactly this text
                if part.entities and _is_format_error(exc):
                    logger.warning("Telegram rejected formatting (%s); sending plain text", exc)
                    part = RenderedPart(part.text, [])
                    continue
                raise
            except (TelegramNetworkError, TelegramServerError):
                if attempt >= min(self.final_attempts, 4):
                    raise
                await self._sleep(min(2.0**attempt, 10.0))

    # -- raw calls (parse_mode=None: entities must not be combined with a default parse mode) --

    def _entities(self, part: RenderedPart) -> list[MessageEntity] | None:
        return part.entities or None

    async def _draft(self, part: RenderedPart) -> bool:
        return await self.bot.send_message_draft(
            chat_id=self.chat_id,
            draft_id=self.draft_id,
            message_thread_id=self.message_thread_id,
            text=part.text,
            entities=self._entities(part),
            parse_mode=None,
        )

    async def _send(self, part: RenderedPart, *, reply: bool) -> Message:
        reply_parameters = (
            ReplyParameters(message_id=self.reply_to_message_id, allow_sending_without_reply=True)
            if reply and self.reply_to_message_id is not None
            else None
        )
        return await self.bot.send_message(
            chat_id=self.chat_id,
            message_thread_id=self.message_thread_id,
            text=part.text,
            entities=self._entities(part),
            parse_mode=None,
            reply_parameters=reply_parameters,
        )

    async def _edit(self, message: Message, part: RenderedPart) -> Message | bool:
        return await self.bot.edit_message_text(
            chat_id=self.chat_id,
            message_id=message.message_id,
            text=part.text,
            entities=self._entities(part),
            parse_mode=None,
        )


async def stream_answer(
    streamer: AnswerStreamer, chunks: AsyncIterator[str], *, footer: str | None = None
) -> str:
    """Feed text deltas to ``streamer``, finish it, and return the full text.

    If ``chunks`` raises, the exception propagates without finishing, so the caller chooses
    between ``streamer.fail(...)`` and ``streamer.finish(streamer.text_so_far, footer=...)``.
    """
    text = ""
    async for chunk in chunks:
        if not chunk:
            continue
        text += chunk
        await streamer.update(text)
    await streamer.finish(text, footer=footer)
    return text
