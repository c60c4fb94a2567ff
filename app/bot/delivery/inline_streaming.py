"""Stream an answer into an inline message: one posted by inline mode (the user chose an
inline result) or by guest mode (answerGuestQuery). Both give an ``inline_message_id``,
which only ``editMessageText`` reaches.

The same rules as :mod:`app.bot.delivery.streaming`, on the same bot-wide send budget:
previews are edits paced by the ``StreamPacing`` every answer has and take only *spare*
budget (skipped otherwise); the final edit waits for the budget, is served first and is
repeated until it lands (:func:`deliver_final`). What differs is that an inline message is
one message, forever: there are no drafts, no "typing…" and no second message, so an
answer longer than one message is cut, with a marker that says so."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter

from app.bot.delivery.answer_setup import StreamPacing
from app.bot.delivery.flood import handles_own_flood_control
from app.bot.delivery.priority_limiter import take_spare
from app.bot.delivery.stream_calls import deliver_final, is_not_modified
from app.bot.rendering.answer_parts import SEPARATOR, join_parts
from app.bot.rendering.markdown import (
    TELEGRAM_TEXT_LIMIT,
    RenderedPart,
    render_markdown_async,
    utf16_len,
)

log = logging.getLogger(__name__)

#: Beyond this much text, previews stop (each re-renders the head of the answer): the
#: message can show only its first 4096 characters anyway, and the final edit shows them.
PREVIEW_MAX_CHARS = 2 * TELEGRAM_TEXT_LIMIT


async def one_message(
    text: str, *, limit: int, cut_marker: str, footer: str | None = None
) -> RenderedPart:
    """``text`` rendered as one message of at most ``limit`` with ``footer`` (notes) below:
    the head of a longer answer, with ``cut_marker`` after it."""
    notes = footer.strip() if footer else ""
    room = limit - (utf16_len(SEPARATOR + notes) if notes else 0)
    parts = await render_markdown_async(text, max(room, 1)) or [RenderedPart("…", [])]
    if len(parts) == 1:
        return join_parts(parts[0], RenderedPart(notes, []))
    tail = f"{cut_marker}\n{notes}" if notes else cut_marker
    head = (await render_markdown_async(text, max(limit - utf16_len(SEPARATOR + tail), 1)))[0]
    return join_parts(head, RenderedPart(tail, []))


class InlineAnswerStreamer:
    """One answer into one inline message. ``update`` never raises; ``finish`` and ``fail``
    retry until Telegram has the text (they raise only on errors no retry fixes)."""

    def __init__(
        self,
        bot: Bot,
        inline_message_id: str,
        pacing: StreamPacing,
        *,
        cut_marker: str,
        header: RenderedPart | None = None,
        limit: int = TELEGRAM_TEXT_LIMIT,
    ) -> None:
        self.bot = bot
        self.inline_message_id = inline_message_id
        self.pacing = pacing
        self.cut_marker = cut_marker
        self.header = header
        # The answer gets what the header leaves of the message.
        self.limit = limit - (utf16_len(header.text + SEPARATOR) if header else 0)
        self.text_so_far = ""
        self.previews_sent = 0
        self.previews_skipped = 0
        self._shown = ""  # the source text of the last preview Telegram has
        self._last_at: float | None = None
        self._blocked_until = 0.0  # a RetryAfter on a preview: none before this time
        self._done = False

    def close(self) -> None:
        self._done = True

    def wants_update(self) -> bool:
        if self._done or len(self.text_so_far) > PREVIEW_MAX_CHARS:
            return False
        now = self.pacing.clock()
        if now < self._blocked_until:
            return False
        return self._last_at is None or now - self._last_at >= self.pacing.edit_interval

    def _due(self, text: str) -> bool:
        if not text.strip() or text == self._shown or not self.wants_update():
            return False
        if self._last_at is None:
            return True
        # A few new characters are not worth a call, unless the preview has gone stale.
        stale = self.pacing.clock() - self._last_at >= 3 * self.pacing.edit_interval
        return len(text) - len(self._shown) >= self.pacing.min_new_chars or stale

    async def update(self, full_text_so_far: str) -> None:
        """Offer the answer so far: an edit when pacing and spare budget allow."""
        self.text_so_far = full_text_so_far
        if self._due(full_text_so_far):
            await self._preview(full_text_so_far)

    @handles_own_flood_control
    async def _preview(self, text: str) -> None:
        if not await take_spare(self.pacing.limiter, first=self._last_at is None):
            self.previews_skipped += 1  # the budget belongs to final messages now
            return
        self._last_at = self.pacing.clock()
        part = (await render_markdown_async(text, self.limit))[0]
        try:
            await self._edit(part)
        except TelegramRetryAfter as exc:
            self._blocked_until = self.pacing.clock() + exc.retry_after
            self.previews_skipped += 1
            return
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                # A rejected preview is disposable (formatting, a message gone): the final
                # edit tries again, and falls back to plain text.
                log.info("inline preview refused: %s", exc.message)
                self.previews_skipped += 1
                return
        except TelegramAPIError:
            log.warning("inline preview failed", exc_info=True)
            self.previews_skipped += 1
            return
        self._shown = text
        self.previews_sent += 1

    async def _edit(self, part: RenderedPart) -> object:
        if self.header is not None:
            part = join_parts(self.header, part)
        return await self.bot.edit_message_text(
            inline_message_id=self.inline_message_id,
            text=part.text,
            entities=part.entities or None,
            parse_mode=None,
        )

    @handles_own_flood_control
    async def finish(self, final_text: str, *, footer: str | None = None) -> None:
        """The whole answer, rendered like any answer, in the one message it has."""
        self.close()
        part = await one_message(
            final_text, limit=self.limit, cut_marker=self.cut_marker, footer=footer
        )
        await self._deliver(part)

    @handles_own_flood_control
    async def fail(self, error_text: str) -> None:
        """Replace the placeholder with ``error_text``. Never raises."""
        self.close()
        try:
            await self._deliver(RenderedPart(error_text, []))
        except TelegramAPIError:
            log.exception("could not show the error in inline message")

    async def _deliver(self, part: RenderedPart) -> None:
        wait = self._blocked_until - self.pacing.clock()
        if wait > 0:
            await self.pacing.sleep(wait)
        await deliver_final(
            self._edit,
            part,
            limiter=self.pacing.limiter,
            sleep=self.pacing.sleep,
            attempts=self.pacing.final_attempts,
            counted=lambda: None,
            chat_id=0,
        )


__all__ = ["InlineAnswerStreamer", "one_message"]
