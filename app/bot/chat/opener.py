"""Opening an answer to a message: the one way chat, media and the answer buttons start a
streamed answer.

:meth:`AnswerOpener.open` registers the answer with RunningAnswers for as long as it is
written (so ⏹ Stop and /stop reach it) and builds its Telegram sink: drafts in private
chats; elsewhere a reply to the message, in its forum topic. :meth:`AnswerOpener.answer`
does that for a new question (the chat and media routers) and hands it to ChatService;
the answer buttons open one around AnswerControls instead. Built once in ``create_app``
and handed to handlers as ``answer_opener``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from aiogram import Bot
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from app.bot.chat.sink import TelegramAnswer, open_answer
from app.bot.chat.threads import (
    answer_thread,
    conversation_key,
    is_private,
    reply_context,
    thread_of,
)
from app.bot.delivery.rich_support import OFF, RichMessages
from app.config import BotSettings
from app.services.chat.job import AnswerSink, ChatOutcome, ChatRequest, ReplyContext
from app.services.chat.running import RunningAnswer, RunningAnswers
from app.services.chat.service import ChatService, buttons_message
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Attachment, Caller


def _locale() -> str:
    """The language of the update being served (what the answer's tools set speaks it)."""
    try:
        return get_i18n().current_locale
    except LookupError:  # outside an update (tests, scripts)
        return "en"


@dataclass(frozen=True)
class ScheduledRun:
    """One run of a scheduled prompt: where it is answered, and in which conversation."""

    chat_id: int
    thread_id: int
    prompt: str
    conversation_id: str
    locale: str


@dataclass(frozen=True)
class OpenedAnswer:
    """An answer being written: its Telegram sink and its entry in RunningAnswers (the stop
    token on its ⏹ Stop button and the signal that stops it)."""

    sink: TelegramAnswer
    running: RunningAnswer


class AnswerOpener:
    def __init__(
        self,
        settings: BotSettings,
        limiter: AsyncLimiter,
        running: RunningAnswers,
        chat_service: ChatService,
        rich: RichMessages = OFF,
    ) -> None:
        self._settings = settings
        self._limiter = limiter
        self._running = running
        self._chat = chat_service
        self._rich = rich

    @contextmanager
    def open(
        self, bot: Bot, message: Message, user: UserRecord, *, buttons: bool = True
    ) -> Iterator[OpenedAnswer]:
        """An answer of ``user`` to ``message`` (the question, or the answer whose button was
        pressed), tracked until the block is left. ``buttons``: False for an answer kept out
        of the conversation (a catch-up), which the answer buttons can't act on."""
        chat_id = message.chat.id
        private = is_private(message.chat)
        with self._running.track(user.user_id, chat_id, thread_of(message)) as running:
            sink = open_answer(
                bot,
                self._settings,
                self._limiter,
                chat_id=chat_id,
                private=private,
                user=user,
                stop_token=running.token,
                reply_to_message_id=None if private else message.message_id,
                message_thread_id=answer_thread(message),
                draft_id=running.draft_id,
                rich=self._rich,
                buttons=buttons,
            )
            yield OpenedAnswer(sink, running)

    async def answer(
        self,
        bot: Bot,
        message: Message,
        user: UserRecord,
        caller: Caller,
        text: str,
        attachments: list[Attachment] | None = None,
        *,
        wrap: Callable[[AnswerSink], AnswerSink] | None = None,
        message_ids: Sequence[int] = (),
    ) -> None:
        """Answer ``text`` (what ``message`` asks, already parsed) through ChatService.
        ``wrap``: a sink around the Telegram one (the media router keeps the final text of
        answers to voice notes, to speak it). ``message_ids``: all the messages of a
        question that came in pieces (``message`` is the one answered)."""
        reply, left_buttons = await self._reply_context(bot, message, user)
        with self.open(bot, message, user) as opened:
            sink = opened.sink
            if left_buttons is not None:
                await sink.supersede(left_buttons)  # taken off after the answer
            request = ChatRequest(
                locale=_locale(),
                user=user,
                caller=caller,
                chat_id=message.chat.id,
                text=text,
                attachments=attachments or [],
                thread_id=thread_of(message),
                message_id=message.message_id,
                message_ids=message_ids,
                reply=reply,
                private=is_private(message.chat),
                stop=opened.running.stop,
            )
            await self._chat.answer(request, wrap(sink) if wrap else sink)
        await sink.tidy()

    async def answer_scheduled(
        self,
        bot: Bot,
        user: UserRecord,
        caller: Caller,
        run: ScheduledRun,
        kind: type[TelegramAnswer] = TelegramAnswer,
    ) -> tuple[ChatOutcome, TelegramAnswer]:
        """Answer a scheduled prompt through ChatService in its own conversation, streamed
        to the chat (and forum topic) it was set in like any answer, with no question to
        reply to. Returns how it ended and the sink it went through."""
        private = run.chat_id == user.user_id
        with self._running.track(user.user_id, run.chat_id, run.thread_id) as running:
            sink = open_answer(
                bot,
                self._settings,
                self._limiter,
                chat_id=run.chat_id,
                private=private,
                user=user,
                stop_token=running.token,
                message_thread_id=run.thread_id or None,
                draft_id=running.draft_id,
                rich=self._rich,
                kind=kind,
            )
            request = ChatRequest(
                user=user,
                caller=caller,
                chat_id=run.chat_id,
                text=run.prompt,
                thread_id=run.thread_id,
                private=private,
                stop=running.stop,
                conversation_id=run.conversation_id,
                locale=run.locale,
            )
            outcome = await self._chat.answer(request, sink)
        return outcome, sink

    async def _reply_context(
        self, bot: Bot, message: Message, user: UserRecord
    ) -> tuple[ReplyContext | None, int | None]:
        """The replied-to message, quoted. A reply to a stored answer of another
        conversation of this user continues that conversation from there instead (and
        the message with the buttons of the conversation left is returned: they act on
        the active conversation only). An answer of the active conversation is quoted
        when the user selected part of it, else only if it is trimmed out of the history
        the model is sent."""
        replied = message.reply_to_message
        if replied is None:
            return None, None
        me = await bot.me()
        if replied.from_user is not None and replied.from_user.id == me.id:
            key = conversation_key(message, user.user_id)
            conversations = self._chat.conversations
            left: int | None = None
            try:
                left = buttons_message((await conversations.active(key, user.model)).turns)
                continued = await conversations.continue_from(key, replied.message_id)
            except StorageUnavailable:
                continued = None
            if continued is not None and continued.current:
                quoted = reply_context(message, me.id)
                if quoted is None or message.quote is not None:
                    return quoted, None  # a partial quote says what the user means
                return replace(quoted, turn=continued.index), None
            if continued is not None:
                title = continued.conversation.title or _("untitled")
                await message.reply(
                    _("↩️ Continuing the conversation «{title}» from that answer.").format(
                        title=title
                    )
                )
                return None, left  # that answer ends the history now: no need to quote it
        return reply_context(message, me.id), None
