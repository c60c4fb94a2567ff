"""Guest mode (Bot API 10.0): the bot @mentioned in a chat it is not a member of. A friend's
``guest_message`` is answered with ``answerGuestQuery`` (a placeholder) and the answer is
streamed into the inline message that returns; the question and the message it replies to
are the context. A guest reply is text only (Telegram's limit): the images, voice notes
and files of a question are skipped, and the answer says so. Strangers are stopped by the
access gate (app.bot.access.gate)."""

from __future__ import annotations

import logging
import re

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineQueryResultArticle, InputTextMessageContent, Message
from aiolimiter import AsyncLimiter

from app.bot.chat.threads import reply_context
from app.bot.inline import texts
from app.bot.inline.answering import answer_inline
from app.config import Settings
from app.services.chat.service import ChatService
from app.storage import UserRecord
from llmdoor import Caller

log = logging.getLogger(__name__)

GUEST_RESULT_ID = "guest"


def without_mention(text: str, username: str | None) -> str:
    """The question without the ``@bot`` that summoned the bot (any case)."""
    if not username:
        return text.strip()
    return re.sub(rf"@{re.escape(username)}\b", "", text, flags=re.IGNORECASE).strip()


def skipped_media(message: Message) -> list[str]:
    """One line per kind of media the question had: a guest answer can use none."""
    notes: list[str] = []
    if message.photo:
        notes.append(texts.skipped_image())
    if message.voice or message.audio or message.video_note:
        notes.append(texts.skipped_voice())
    if message.document or message.video or message.animation or message.sticker:
        notes.append(texts.skipped_file())
    return notes


async def post_guest_reply(
    bot: Bot, limiter: AsyncLimiter, guest_query_id: str, text: str
) -> str | None:
    """Answer the guest query with ``text``; the inline message id to edit, None when
    Telegram refused (the query expired)."""
    result = InlineQueryResultArticle(
        id=GUEST_RESULT_ID,
        title=text[:64],
        input_message_content=InputTextMessageContent(message_text=text, parse_mode=None),
    )
    try:
        async with limiter:  # a message like any final one: it waits for the send budget
            sent = await bot.answer_guest_query(guest_query_id=guest_query_id, result=result)
    except TelegramAPIError as exc:
        log.warning("guest: answerGuestQuery failed: %s", exc)
        return None
    return sent.inline_message_id


def create_guest_router() -> Router:
    router = Router(name="guest")

    @router.guest_message()
    async def on_guest_message(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        settings: Settings,
        chat_service: ChatService,
        bot_limiter: AsyncLimiter,
    ) -> None:
        if message.guest_query_id is None:
            return
        me = await bot.me()
        question = without_mention(message.text or message.caption or "", me.username)
        notes = skipped_media(message)
        if not question:
            # Nothing to ask (only a mention, or only media): say so, call no model.
            await post_guest_reply(
                bot,
                bot_limiter,
                message.guest_query_id,
                "\n".join([*notes, texts.guest_no_question()]),
            )
            return
        inline_message_id = await post_guest_reply(
            bot, bot_limiter, message.guest_query_id, texts.writing()
        )
        if inline_message_id is None:
            return
        await answer_inline(
            bot,
            chat_service,
            settings.bot,
            bot_limiter,
            inline_message_id,
            user=user_record,
            caller=caller,
            text=question,
            reply=reply_context(message, me.id),
            notes=notes,
        )

    return router
