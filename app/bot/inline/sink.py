"""ChatService's AnswerSink for an inline message (inline and guest mode): the answer is
streamed into the one message Telegram posted, the final edit carries it whole (cut at the
limit, said so), failures become the same localized sentences as in a chat."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiolimiter import AsyncLimiter

from app.bot.chat.tool_progress import progress_line, sources_block
from app.bot.delivery.answer_setup import StreamPacing
from app.bot.delivery.inline_streaming import InlineAnswerStreamer
from app.bot.inline import texts
from app.bot.rendering.error_messages import describe_llm_error
from app.bot.rendering.markdown import RenderedPart
from app.config import BotSettings
from app.services.chat.job import ChatFailure
from llmdoor import Source, ToolFinished, ToolStarted, UsageEvent

log = logging.getLogger(__name__)


class InlineAnswer:
    """One answer in one inline message. ``notes``: lines shown under the answer however
    it ends (what a guest question had that the answer could not use)."""

    def __init__(self, streamer: InlineAnswerStreamer, *, notes: Sequence[str] = ()) -> None:
        self.streamer = streamer
        self._notes = list(notes)
        self._running: dict[str, str] = {}
        self._sources: Sequence[Source] = ()

    # Tools: their progress shows until the answer's text comes; the sources go under it.

    async def tool_started(self, event: ToolStarted) -> None:
        self._running[event.call_id] = progress_line(event)
        await self.streamer.update("\n".join(self._running.values()))

    async def tool_finished(self, event: ToolFinished) -> None:
        self._running.pop(event.call_id, None)

    async def show_sources(self, sources: Sequence[Source]) -> None:
        self._sources = sources

    @property
    def shows_usage(self) -> bool:
        return False  # a public message: the caller's spend is nobody else's business

    async def start(self) -> None:
        """Nothing to show: the placeholder is already there (no "typing…" in an inline
        message)."""

    def close(self) -> None:
        self.streamer.close()

    def wants_update(self) -> bool:
        return self.streamer.wants_update()

    async def update(self, full_text_so_far: str) -> None:
        await self.streamer.update(full_text_so_far)

    async def reasoning(self, reasoning_so_far: str) -> None:
        """Reasoning stays out of a message other people read."""

    async def finish(
        self,
        final_text: str,
        *,
        cut_off: bool = False,
        stopped: bool = False,
        hit_limit: bool = False,
        reasoning: str = "",
        usage: UsageEvent | None = None,
    ) -> Sequence[int]:
        notes = list(self._notes)
        if stopped:
            notes.append(texts.stopped())
        if cut_off:
            notes.append(texts.stream_broke())
        if hit_limit:
            notes.append(texts.length_limit())
        if self._sources and final_text.strip():
            final_text = f"{final_text}\n\n{sources_block(final_text, self._sources)}"
        try:
            await self.streamer.finish(final_text, footer="\n".join(notes) or None)
        except TelegramAPIError as exc:
            # The message is gone (deleted by the chat) or Telegram keeps refusing: the
            # model was paid for, nothing else can show the answer.
            log.warning("inline answer not delivered: %s", exc)
        return []  # an inline message has no message id in any chat

    async def fail(self, failure: ChatFailure) -> None:
        text = texts.empty_answer() if failure.error is None else describe_llm_error(failure.error)
        await self.streamer.fail("\n".join([*self._notes, text]))

    async def supersede(self, message_id: int) -> None:
        """No answer buttons in an inline message: nothing to move."""


def open_inline_answer(
    bot: Bot,
    settings: BotSettings,
    limiter: AsyncLimiter,
    inline_message_id: str,
    *,
    header: RenderedPart | None = None,
    notes: Sequence[str] = (),
) -> InlineAnswer:
    """The sink for one answer into ``inline_message_id``, on the bot-wide send budget and
    paced like an edited preview in a group. ``header``: shown above the answer (the
    question, where the chat does not show it)."""
    streamer = InlineAnswerStreamer(
        bot,
        inline_message_id,
        StreamPacing(limiter, edit_interval=settings.edit_interval),
        cut_marker=texts.cut_marker(),
        header=header,
    )
    return InlineAnswer(streamer, notes=notes)
