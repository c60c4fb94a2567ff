"""ChatService's AnswerSink in Telegram: the streamer shows the text (and, per the user's
/reasoning switch, the reasoning), running tools show as progress lines, the final message
gets its sources, notes, footer and buttons, failures become localized sentences."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from app.bot.chat.keyboards import answer_keyboard, stop_keyboard
from app.bot.chat.tool_progress import progress_line, sources_block
from app.bot.delivery.answer_setup import AnswerLook, AnswerTarget, StreamPacing
from app.bot.delivery.flood import caller_handles_flood_control
from app.bot.delivery.priority_limiter import wait_spare
from app.bot.delivery.rich_support import OFF, RichMessages
from app.bot.delivery.stream_calls import DeliveryUncertain
from app.bot.delivery.streaming import AnswerStreamer
from app.bot.memory import texts as memory_texts
from app.bot.memory.keyboards import undo_keyboard
from app.bot.rendering.answer_parts import reasoning_block
from app.bot.rendering.error_messages import describe_llm_error
from app.bot.rendering.tasks import cancel_keyboard, task_set
from app.bot.rendering.usage_texts import usage_footer
from app.config import BotSettings
from app.services.chat.job import ChatFailure
from app.storage import UserPrefs, UserRecord
from app.storage.facts import Fact
from app.storage.tasks import ScheduledTask
from llmdoor import Source, ToolFinished, ToolStarted, UsageEvent

log = logging.getLogger(__name__)

#: How long taking the buttons off an older answer may wait for spare send budget.
TIDY_WAIT_SECONDS = 30.0


class TelegramAnswer:
    # The answer buttons act on the active conversation: only under its answers.
    buttons = True

    def __init__(
        self,
        streamer: AnswerStreamer,
        *,
        owner: int,
        prefs: UserPrefs,
        buttons: bool | None = None,
    ) -> None:
        self._streamer = streamer
        self._buttons = buttons  # False: an answer the conversation buttons can't act on
        self._owner = owner
        self._prefs = prefs
        self._superseded: list[int] = []  # messages whose buttons go after the answer
        self._running: dict[str, str] = {}  # tool call id -> its progress line
        self._sources: Sequence[Source] = ()
        self._incognito = False

    async def tool_started(self, event: ToolStarted) -> None:
        self._running[event.call_id] = progress_line(event)
        await self._streamer.update("\n".join(self._running.values()))

    async def tool_finished(self, event: ToolFinished) -> None:
        self._running.pop(event.call_id, None)
        if self._running:
            await self._streamer.update("\n".join(self._running.values()))

    async def show_sources(self, sources: Sequence[Source]) -> None:
        self._sources = sources

    def incognito(self) -> None:
        """The answer is to an incognito conversation: its footer says so."""
        self._incognito = True

    async def remembered(self, facts: Sequence[Fact]) -> None:
        """One line per fact the model kept, each with its undo button."""
        target = self._streamer.target
        for fact in facts:
            try:
                async with self._streamer.limiter:
                    await target.bot.send_message(
                        target.chat_id,
                        memory_texts.model_remembered(fact.text),
                        message_thread_id=target.thread_id,
                        reply_markup=undo_keyboard(self._owner, fact.id),
                    )
            except TelegramAPIError as exc:  # the fact stays; /memory lists it
                log.warning("memory: remembered fact not shown: %s", exc)

    async def scheduled(self, tasks: Sequence[ScheduledTask]) -> None:
        """One line per task the model set, each with its cancel button."""
        target = self._streamer.target
        for task in tasks:
            try:
                async with self._streamer.limiter:
                    await target.bot.send_message(
                        target.chat_id,
                        task_set(task),
                        message_thread_id=target.thread_id,
                        reply_markup=cancel_keyboard(self._owner, task.id),
                    )
            except TelegramAPIError as exc:  # the task stays; /tasks lists it
                log.warning("schedule: task set by the model not shown: %s", exc)

    @property
    def shows_usage(self) -> bool:
        return self._prefs.usage_footer

    async def start(self) -> None:
        await self._streamer.start()

    def close(self) -> None:
        self._streamer.close()

    def wants_update(self) -> bool:
        return self._streamer.wants_update()

    async def update(self, full_text_so_far: str) -> None:
        await self._streamer.update(full_text_so_far)

    async def reasoning(self, reasoning_so_far: str) -> None:
        await self._streamer.reasoning(reasoning_so_far)

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
        notes: list[str] = []
        if stopped:
            notes.append(_("⏹ Stopped."))
        if cut_off:
            notes.append(_("⚠️ The answer was cut off: the model's stream broke."))
        if hit_limit:
            notes.append(_("✂️ The answer reached the model's length limit. ➡️ Continue goes on."))
        if usage is not None and self._prefs.usage_footer:
            notes.append(usage_footer(usage))
        if self._incognito:
            notes.append(memory_texts.incognito_mark())
        header = None
        shown_reasoning = None
        if reasoning.strip() and self._prefs.reasoning != "off":
            shown_reasoning = reasoning
            header = reasoning_block(reasoning, _("💭 Reasoning"), expandable=True)
        # Buttons only under something they can act on: an answer that was kept.
        markup = answer_keyboard(self._owner) if final_text.strip() and self._buttons else None
        if self._sources and final_text.strip():
            final_text = f"{final_text}\n\n{sources_block(final_text, self._sources)}"
        try:
            messages = await self._streamer.finish(
                final_text,
                footer="\n".join(notes) or None,
                header=header,
                reasoning=shown_reasoning,
                reasoning_label=_("💭 Reasoning"),
                reply_markup=markup,
            )
        except DeliveryUncertain:
            # Probably delivered, its answer lost on the way: never sent twice. The answer
            # is in the conversation already; its message ids are unknown.
            return []
        return [m.message_id for m in messages]

    async def fail(self, failure: ChatFailure) -> None:
        if failure.error is None:
            await self._streamer.fail(_("🤔 The model returned an empty answer. Try rephrasing."))
        else:
            await self._streamer.fail(describe_llm_error(failure.error))

    async def supersede(self, message_id: int) -> None:
        if message_id not in self._superseded:
            self._superseded.append(message_id)  # tidied after the answer, outside the lock

    async def tidy(self) -> None:
        """Take the buttons off the answers this one superseded, from spare send budget
        only: a final answer never waits for it."""
        superseded, self._superseded = self._superseded, []
        for message_id in superseded:
            await remove_buttons(
                self._streamer.bot, self._streamer.chat_id, message_id, self._streamer.limiter
            )


async def remove_buttons(bot: Bot, chat_id: int, message_id: int, limiter: AsyncLimiter) -> None:
    if not await wait_spare(limiter, TIDY_WAIT_SECONDS):
        log.info("buttons of message %s in chat %s left: no spare budget", message_id, chat_id)
        return
    try:
        with caller_handles_flood_control():  # a tidy-up is not worth waiting out a 429
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )
    except TelegramAPIError as exc:  # already gone, deleted, too old: nothing to tidy
        log.debug("buttons of message %s not removed: %s", message_id, exc)


def open_answer(
    bot: Bot,
    settings: BotSettings,
    limiter: AsyncLimiter,
    *,
    chat_id: int,
    private: bool,
    user: UserRecord,
    stop_token: str,
    reply_to_message_id: int | None = None,
    message_thread_id: int | None = None,
    draft_id: int | None = None,
    rich: RichMessages = OFF,
    kind: type[TelegramAnswer] = TelegramAnswer,
    buttons: bool = True,
) -> TelegramAnswer:
    """The sink for one answer to ``user``: drafts in private chats, an edited preview
    with a ⏹ Stop button elsewhere."""
    streamer = AnswerStreamer(
        AnswerTarget(
            bot,
            chat_id,
            private=private,
            reply_to_message_id=reply_to_message_id,
            thread_id=message_thread_id,
            draft_id=draft_id,
        ),
        StreamPacing(
            limiter, draft_interval=settings.draft_interval, edit_interval=settings.edit_interval
        ),
        look=AnswerLook(
            reasoning_mode=user.prefs.reasoning,
            reasoning_label=_("💭 Thinking…"),
            stop_markup=stop_keyboard(user.user_id, stop_token),
            rich=rich,
        ),
    )
    return kind(streamer, owner=user.user_id, prefs=user.prefs, buttons=buttons)
