"""Stream an LLM answer into Telegram: live previews, then the final rendered message(s).

Private chats preview with ``sendMessageDraft`` (Bot API 9.5+) and finish with ``sendMessage``.
Groups, or any chat where a draft is refused, preview with one sent message that is edited at
most once per ``edit_interval`` and becomes the first final part at the end.

Rules that keep us inside Telegram's flood limits and never lose the answer:
- every call goes through an injected bot-wide limiter (~25 msg/s,
  :mod:`app.bot.delivery.priority_limiter`): previews take only *spare* budget and are skipped
  otherwise, final messages wait for it and are served first;
- previews are throttled per streamer and only sent when the text changed enough;
- ``RetryAfter`` on a preview blocks previews until it has passed; on a final message we sleep
  ``retry_after`` and send again;
- "message is not modified" is success; a formatting rejection resends that part as plain text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup, InputRichBlockFooter, InputRichMessage, Message
from aiolimiter import AsyncLimiter

from app.bot.delivery.answer_setup import DEFAULT_LOOK, AnswerLook, AnswerTarget, StreamPacing
from app.bot.delivery.flood import handles_own_flood_control
from app.bot.delivery.priority_limiter import make_bot_limiter, spare_available, take_spare
from app.bot.delivery.stream_calls import (
    AnswerCalls,
    deliver_final,
    is_format_error,
    is_missing_message,
    is_not_modified,
)
from app.bot.delivery.typing_indicator import TypingIndicator
from app.bot.rendering.answer_parts import compose_final, join_parts, reasoning_preview
from app.bot.rendering.markdown import RenderedPart, preview_tail, render_preview_async
from app.bot.rendering.rich import rich_draft, rich_parts, rich_plain_text

__all__ = [
    "AnswerLook",
    "AnswerStreamer",
    "AnswerTarget",
    "StreamMode",
    "StreamPacing",
    "make_bot_limiter",
    "stream_answer",
]

logger = logging.getLogger(__name__)


RICH_PREVIEW_CHARS = 8192  # the tail of a long answer a rich draft or preview shows
NO_PART = RenderedPart("", [])  # what a rich call, which takes no rendered part, is given


class StreamMode:
    DRAFT = "draft"
    EDIT = "edit"


class _NoSpareBudget(Exception):
    """A preview found no spare budget: skipped, never queued."""


class AnswerStreamer:
    """Turns a growing answer into Telegram previews and, at the end, the final messages.

    One instance per answer. ``update`` never raises on Telegram errors; ``finish`` retries
    until the answer is delivered (it raises only on errors no retry can fix, e.g. the bot was
    blocked by the user).
    """

    def __init__(
        self, target: AnswerTarget, pacing: StreamPacing, *, look: AnswerLook = DEFAULT_LOOK
    ) -> None:
        self.target = target
        self.pacing = pacing
        self.look = look
        # Non-zero per the Bot API; random so two answers in one chat do not animate into
        # each other.
        self.draft_id = (
            target.draft_id if target.draft_id is not None else secrets.randbelow(2**31 - 2) + 1
        )
        self.mode = StreamMode.DRAFT if target.private else StreamMode.EDIT
        self._io = AnswerCalls(
            target.bot,
            target.chat_id,
            self.draft_id,
            message_thread_id=target.thread_id,
            reply_to_message_id=target.reply_to_message_id,
        )
        self.calls = 0  # Telegram API calls made by this streamer (benchmarks, logs)
        self.previews_sent = 0
        self.previews_skipped = 0
        self.text_so_far = ""
        self.preview_message: Message | None = None
        self.reasoning_so_far = ""
        self._shown_source = ""  # the source text of the last preview Telegram accepted
        self._shown: RenderedPart | None = None
        self._last_preview_at: float | None = None
        self._blocked_until = 0.0  # RetryAfter on previews: no previews before this time
        self._done = False
        self._nothing_shown = True  # no typing or preview yet: the first may take more budget
        # Rich previews for this answer, while the process has them and Telegram takes them.
        self._rich_previews = look.rich.available
        self.rich_finals = 0  # final messages that went out rich (tests, benchmarks)
        self._typing = TypingIndicator(
            target.bot,
            target.chat_id,
            target.thread_id,
            pacing.limiter,
            wanted=lambda: self._nothing_shown and not self._done,
            on_sent=self._typing_went,
        )

    # The chat and the bot-wide budget, for the caller's own calls.

    @property
    def bot(self) -> Bot:
        return self.target.bot

    @property
    def chat_id(self) -> int:
        return self.target.chat_id

    @property
    def limiter(self) -> AsyncLimiter:
        return self.pacing.limiter

    # -- public API ----------------------------------------------------------------------

    @handles_own_flood_control
    async def start(self) -> None:
        """Show "typing…" once: cheap, and covers the model's time to first token. Previews
        and the final message wait for its call, so nothing overtakes it."""
        await self._typing.start(first=self._nothing_shown)

    def close(self) -> None:
        """The answer is over, however it ended (an error the caller reports itself, too):
        a "typing…" still waiting for its turn must not follow it."""
        self._done = True
        self._typing.give_up()

    def _typing_went(self) -> None:
        self.calls += 1
        self._nothing_shown = False

    def wants_update(self) -> bool:
        """Whether an update now could send a preview (the clock part of ``_due``, O(1)):
        a model streams a chunk per token, so callers join the text so far and offer it
        only when this says so; rendering and the text checks run per preview."""
        if self._done:
            return False
        now = self.pacing.clock()
        if now < self._blocked_until:
            return False
        last = self._last_preview_at
        return last is None or now - last >= self.interval

    async def update(self, full_text_so_far: str) -> None:
        """Offer the answer so far; sends a preview only if throttling allows. Never raises."""
        self.text_so_far = full_text_so_far
        if self.wants_update():
            await self._offer()

    async def reasoning(self, reasoning_so_far: str) -> None:
        """Offer the model's reasoning so far (shown per ``reasoning_mode``). Never raises."""
        self.reasoning_so_far = reasoning_so_far
        if self.look.reasoning_mode != "off" and self.wants_update():
            await self._offer()

    @handles_own_flood_control
    async def _offer(self) -> None:
        await self._preview()

    @handles_own_flood_control
    async def finish(
        self,
        final_text: str,
        *,
        footer: str | None = None,
        header: RenderedPart | None = None,
        reasoning: str | None = None,
        reasoning_label: str = "💭",
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> list[Message]:
        """Deliver the whole answer and return the messages it now occupies: as rich
        messages where the process has them (``reasoning`` a collapsed block above the
        answer, ``footer`` a footer block), else rendered and split (``header`` above the
        answer: the collapsed reasoning). ``reply_markup`` goes under the last part."""
        self.close()
        self.text_so_far = final_text
        await self._typing.sent()
        if self.look.rich.available and final_text.strip():
            delivered = await self._finish_rich(
                final_text, footer, reasoning, reasoning_label, reply_markup
            )
            if delivered is not None:
                return delivered
        parts = await compose_final(
            final_text,
            limit=self.look.limit,
            empty_text=self.look.empty_text,
            header=header,
            footer=footer,
        )
        messages: list[Message] = []
        last = len(parts) - 1
        for index, part in enumerate(parts):
            markup = reply_markup if index == last else None
            if index == 0 and self.preview_message is not None:
                edited = await self._edit_final(self.preview_message, part, markup)
                if edited is not None:
                    messages.append(edited)
                    continue
            messages.append(await self._send_final(part, reply=index == 0, markup=markup))
        return messages

    @handles_own_flood_control
    async def fail(self, error_text: str) -> None:
        """Replace the preview with ``error_text`` (or send it). Never raises."""
        self.close()
        await self._typing.sent()
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
        return (
            self.pacing.draft_interval
            if self.mode == StreamMode.DRAFT
            else self.pacing.edit_interval
        )

    def _preview_source(self) -> str:
        """What the preview would show, as one string: a change means a new preview."""
        text = self.text_so_far if self.text_so_far.strip() else ""
        if self.look.reasoning_mode == "stream" and self.reasoning_so_far.strip():
            return f"{self.reasoning_so_far}\x00{text}"
        if self.look.reasoning_mode == "on" and self.reasoning_so_far.strip() and not text:
            return "\x00"  # "thinking…" until the answer itself starts
        return text

    async def _preview(self) -> None:
        if self._done:
            return
        source = self._preview_source()
        if not source or not self._due(source):
            return
        if not spare_available(self.pacing.limiter, first=self._nothing_shown):
            # Under load the budget belongs to final messages: don't even render a preview
            # (CPU is as scarce then as the budget).
            self.previews_skipped += 1
            return
        try:
            await self._push_preview(source)
        except TelegramAPIError:  # a preview is disposable; the final answer is what matters
            logger.warning("preview update failed", exc_info=True)

    async def _preview_part(self) -> RenderedPart:
        text = self.text_so_far
        body = await render_preview_async(text, self.look.limit) if text.strip() else None
        if self.look.reasoning_mode == "off" or not self.reasoning_so_far.strip():
            return body or RenderedPart("", [])
        if self.look.reasoning_mode == "on":
            return body or RenderedPart(self.look.reasoning_label, [])
        quote = reasoning_preview(self.reasoning_so_far, self.look.reasoning_label)
        if body is None:
            return quote
        # The answer must fit: the reasoning quote gives way when the preview is long.
        budget = self.look.limit - len(body.text) - 2
        if budget < len(quote.text):
            return body
        return join_parts(quote, body)

    def _due(self, text: str) -> bool:
        now = self.pacing.clock()
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
        return abs(grown) >= self.pacing.min_new_chars or elapsed >= 3 * self.interval

    async def _push_preview(self, source: str) -> None:
        await self._typing.sent()
        if self._rich_previews and self.look.rich.available:
            outcome = await self._try_rich_preview()
            if outcome is not False:
                self._count_preview(outcome, source)
                return
            self._rich_previews = False  # refused: this answer previews the old way
        part = await self._preview_part()
        if not part.text.strip():
            return
        if self._shown is not None and part == self._shown:
            self._shown_source = source
            return
        self._last_preview_at = self.pacing.clock()
        outcome = await self._try_preview(part)
        if outcome is False and part.entities:
            # Telegram rejected the formatting of the preview: show it unformatted.
            outcome = await self._try_preview(RenderedPart(part.text, []))
        self._count_preview(outcome, source)
        if outcome:
            self._shown = part

    def _count_preview(self, outcome: bool | None, source: str) -> None:
        if outcome:
            self.previews_sent += 1
            self._shown_source = source
        else:
            self.previews_skipped += 1

    def _rich_preview(self) -> InputRichMessage:
        # The part being written, as the plain preview shows it: the whole answer comes in
        # the final message, and a preview's cost must not grow with the answer.
        text = (
            preview_tail(self.text_so_far, RICH_PREVIEW_CHARS) if self.text_so_far.strip() else ""
        )
        reasoning = self.reasoning_so_far if self.reasoning_so_far.strip() else ""
        return rich_draft(
            text,
            # Telegram's "Thinking…" placeholder while the model reasons and has not
            # started the answer; the reasoning itself only for /reasoning stream.
            thinking=bool(reasoning) and not text and self.look.reasoning_mode != "off",
            reasoning_so_far=reasoning if self.look.reasoning_mode == "stream" else None,
            reasoning_label=self.look.reasoning_label,
        )

    async def _try_rich_preview(self) -> bool | None:
        """One rich preview: True shown, None skipped, False refused (the old way then)."""
        self._last_preview_at = self.pacing.clock()
        rich = await asyncio.to_thread(self._rich_preview)
        try:
            if self.mode == StreamMode.DRAFT:
                await self._call_preview(lambda: self._io.rich_draft(rich))
            elif self.preview_message is None:
                self.preview_message = await self._call_preview(
                    lambda: self._io.rich_send(rich, reply=True, markup=self.look.stop_markup)
                )
            else:
                message = self.preview_message
                await self._call_preview(
                    lambda: self._io.rich_edit(message, rich, self.look.stop_markup)
                )
            return True
        except _NoSpareBudget:
            return None
        except TelegramRetryAfter as exc:
            self._blocked_until = self.pacing.clock() + exc.retry_after
            return None
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return True
            logger.info("rich preview refused in chat %s (%s); plain previews", self.chat_id, exc)
            return False
        except TelegramAPIError as exc:
            if self.look.rich.server_lacks_them(exc):
                return False
            raise

    async def _try_preview(self, part: RenderedPart) -> bool | None:
        """One preview attempt: True shown, False formatting rejected, None skipped."""
        try:
            if self.mode == StreamMode.DRAFT:
                try:
                    await self._call_preview(lambda: self._io.draft(part))
                    return True
                except TelegramBadRequest as exc:
                    if is_not_modified(exc):
                        return True
                    if is_format_error(exc):
                        return False
                    # Drafts not available here (not a private chat with drafts, old Bot API
                    # server, ...): switch to the send+edit fallback for the rest of the answer.
                    logger.info("drafts refused in chat %s (%s); using edits", self.chat_id, exc)
                    self.mode = StreamMode.EDIT
            if self.preview_message is None:
                self.preview_message = await self._call_preview(
                    lambda: self._io.send(part, reply=True, markup=self.look.stop_markup)
                )
            else:
                message = self.preview_message
                await self._call_preview(
                    lambda: self._io.edit(message, part, self.look.stop_markup)
                )
            return True
        except _NoSpareBudget:
            # The bot-wide budget is busy (many conversations): drop this preview rather than
            # queue it; a later update or the final message will show the text.
            return None
        except TelegramRetryAfter as exc:
            # Skip this preview and keep quiet until Telegram's penalty is over.
            self._blocked_until = self.pacing.clock() + exc.retry_after
            return None
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return True
            if is_format_error(exc):
                return False
            if self.mode == StreamMode.EDIT and self.preview_message is not None:
                # e.g. the preview message was deleted: the final parts will be sent fresh.
                logger.info("preview edit failed in chat %s: %s", self.chat_id, exc)
                self.preview_message = None
            return None

    async def _call_preview(self, make: Callable[[], Awaitable[Any]]) -> Any:
        if not await take_spare(self.pacing.limiter, first=self._nothing_shown):
            raise _NoSpareBudget
        self.calls += 1
        self._typing.give_up()
        await self._typing.sent()  # a turn that came during the render: text goes after it
        result = await make()
        self._nothing_shown = False
        return result

    # -- final delivery ------------------------------------------------------------------

    async def _finish_rich(
        self,
        final_text: str,
        footer: str | None,
        reasoning: str | None,
        reasoning_label: str,
        reply_markup: InlineKeyboardMarkup | None,
    ) -> list[Message] | None:
        """The answer as rich messages; None when nothing was sent and the old way must
        deliver it all (the server has no rich methods, or Telegram refused the first)."""
        parts = await asyncio.to_thread(
            rich_parts, final_text, reasoning=reasoning, reasoning_label=reasoning_label
        )
        if footer:
            last = parts[-1]
            parts[-1] = last.model_copy(
                update={"blocks": [*(last.blocks or []), InputRichBlockFooter(text=footer)]}
            )
        messages: list[Message] = []
        final = len(parts) - 1
        for index, rich in enumerate(parts):
            markup = reply_markup if index == final else None
            try:
                messages.append(await self._deliver_rich(rich, index, markup))
            except TelegramBadRequest as exc:
                logger.warning("rich message refused in chat %s (%s); resent", self.chat_id, exc)
                if not messages:
                    return None  # the whole answer goes the old way
                rest = "\n\n".join(rich_plain_text(p) for p in parts[index:])
                messages.extend(await self._finish_plain_rest(rest, footer, reply_markup))
                return messages
            except TelegramAPIError as exc:
                if messages or not self.look.rich.server_lacks_them(exc):
                    raise
                return None
            self.rich_finals += 1
        return messages

    async def _deliver_rich(
        self, rich: InputRichMessage, index: int, markup: InlineKeyboardMarkup | None
    ) -> Message:
        if index == 0 and self.preview_message is not None:
            preview = self.preview_message
            try:
                result = await self._deliver(lambda _p: self._io.rich_edit(preview, rich, markup))
            except TelegramBadRequest as exc:
                if is_missing_message(exc):
                    self.preview_message = None
                    return await self._deliver_rich(rich, index, markup)
                raise
            self.preview_message = None
            return result if isinstance(result, Message) else preview
        message: Message = await self._deliver(
            lambda _p: self._io.rich_send(rich, reply=index == 0, markup=markup)
        )
        return message

    async def _finish_plain_rest(
        self, text: str, footer: str | None, reply_markup: InlineKeyboardMarkup | None
    ) -> list[Message]:
        parts = await compose_final(
            text, limit=self.look.limit, empty_text=self.look.empty_text, footer=footer
        )
        final = len(parts) - 1
        return [
            await self._send_final(part, reply=False, markup=reply_markup if i == final else None)
            for i, part in enumerate(parts)
        ]

    async def _send_final(
        self, part: RenderedPart, *, reply: bool, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        message: Message = await self._deliver(
            lambda p: self._io.send(p, reply=reply, markup=markup), part
        )
        return message

    async def _edit_final(
        self, message: Message, part: RenderedPart, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Edit the preview into ``part``; None if the message cannot be edited (send anew)."""
        try:
            result = await self._deliver(lambda p: self._io.edit(message, p, markup), part)
        except TelegramBadRequest as exc:
            logger.info("final edit failed in chat %s (%s); sending anew", self.chat_id, exc)
            self.preview_message = None
            return None
        self.preview_message = None
        # editMessageText returns True for inline messages only; ours is a bot message.
        return result if isinstance(result, Message) else message

    async def _deliver(
        self,
        call: Callable[[RenderedPart], Awaitable[Any]],
        part: RenderedPart = NO_PART,
    ) -> Any:
        # A preview just got RetryAfter: calling now would only earn another one.
        wait = self._blocked_until - self.pacing.clock()
        if wait > 0:
            await self.pacing.sleep(wait)
        return await deliver_final(
            call,
            part,
            limiter=self.pacing.limiter,
            sleep=self.pacing.sleep,
            attempts=self.pacing.final_attempts,
            counted=self._count_call,
            chat_id=self.chat_id,
        )

    def _count_call(self) -> None:
        self.calls += 1


async def stream_answer(
    streamer: AnswerStreamer, chunks: AsyncIterator[str], *, footer: str | None = None
) -> str:
    """Feed text deltas to ``streamer``, finish it, and return the full text.

    If ``chunks`` raises, the exception propagates without finishing, so the caller chooses
    between ``streamer.fail(...)`` and ``streamer.finish(streamer.text_so_far, footer=...)``.
    """
    parts: list[str] = []
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            parts.append(chunk)
            if streamer.wants_update():  # joined per preview, not per chunk
                await streamer.update("".join(parts))
    finally:
        streamer.text_so_far = "".join(parts)
    text = streamer.text_so_far
    await streamer.finish(text, footer=footer)
    return text
