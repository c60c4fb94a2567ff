"""Edited questions: the latest question of the active conversation, edited while no
answer is being written, is asked again; the new answer replaces the old one, in the chat
(the old answer's messages are deleted once the new one is kept) and in the history
(AnswerControls.reask). Any other edit gets one line saying why nothing happens. Strangers'
edits never get here (the access gate stops every update type)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from app.bot.chat.opener import AnswerOpener
from app.bot.chat.threads import (
    AddressedToBot,
    is_private,
    reply_context,
    strip_mention,
    thread_of,
)
from app.bot.filters import OnLoop
from app.bot.input import texts
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.config import Settings
from app.services.chat.context import with_reply
from app.services.chat.controls import AnswerControls, ControlStatus, EditedQuestion
from app.storage import UserRecord
from llmdoor import Caller

log = logging.getLogger(__name__)


async def _take_away(bot: Bot, chat_id: int, message_ids: Sequence[int]) -> None:
    """The replaced answer leaves the chat; if Telegram refuses (older than 48 hours), it
    stays, and the new answer below it is the one the history keeps."""
    if not message_ids:
        return
    try:
        await bot.delete_messages(chat_id, list(message_ids))
    except TelegramAPIError as exc:
        log.info("edits: replaced answer in chat %s not deleted: %s", chat_id, exc)


def _refusal(status: ControlStatus) -> str:
    if status is ControlStatus.BUSY:
        return texts.edit_during_answer()
    if status is ControlStatus.IN_PIECES:
        return texts.edit_of_merged_question()
    if status is ControlStatus.UNAVAILABLE:
        return _("⚠️ The database is unavailable right now. Try again later.")
    return texts.edit_of_older_message()


def create_edits_router() -> Router:
    router = Router(name="edits")
    router.edited_message.filter(AddressedToBot())
    router.edited_message.middleware(release_dialog_lock)  # the answer runs long

    @router.edited_message(OnLoop(F.text))
    async def edited_text(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        settings: Settings,
        answer_opener: AnswerOpener,
        answer_controls: AnswerControls,
        bot_mention: str | None = None,
    ) -> None:
        text = strip_mention(message.text or "", bot_mention)
        if not text or text.startswith("/"):
            return
        if len(text) > settings.bot.max_input_chars:
            await message.reply(
                _(
                    "✂️ Your message is too long ({length} characters; the limit is {limit}). "
                    "Please send a shorter text."
                ).format(length=len(text), limit=settings.bot.max_input_chars)
            )
            return
        me = await bot.me()
        with answer_opener.open(bot, message, user_record) as opened:
            edit = EditedQuestion(
                user=user_record,
                caller=caller,
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=with_reply(text, reply_context(message, me.id)),
                thread_id=thread_of(message),
                stop=opened.running.stop,
                private=is_private(message.chat),
            )
            result = await answer_controls.reask(edit, opened.sink)
        if result.status is ControlStatus.DONE:
            await _take_away(bot, message.chat.id, result.replaced)
            await opened.sink.tidy()
            return
        await message.reply(_refusal(result.status))

    @router.edited_message()
    async def edited_other(message: Message) -> None:
        await message.reply(texts.edit_unsupported())

    return router
