"""Inline mode: ``@bot question`` in any chat. A friend is offered one result, "Ask
<model>: <question>"; choosing it posts a placeholder, and the answer is streamed into it
(the chosen_inline_result update, which needs inline feedback on in @BotFather). Nothing
reaches a model before the choice, so Telegram's result cache holds no answer, and it is
personal (``is_personal``): one user's results are never shown to another. Strangers are
stopped by the access gate (a Request access button instead of results)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import (
    ChosenInlineResult,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageEntity,
)
from aiolimiter import AsyncLimiter

from app.bot.inline import texts
from app.bot.inline.answering import answer_inline
from app.bot.inline.keyboards import ask_too_keyboard, empty_query_results_button
from app.bot.rendering.markdown import RenderedPart, utf16_len
from app.config import Settings
from app.services.chat.one_shot import model_for
from app.services.chat.service import ChatService
from app.storage import UserRecord
from llmdoor import Caller

log = logging.getLogger(__name__)

#: The result's id: there is one result, and chosen_inline_result brings the query back.
ASK_RESULT_ID = "ask"
#: Seconds Telegram may show a user's results again for the same query without asking us:
#: they hold the question and the model's name only (personal, never shared).
RESULTS_CACHE_SECONDS = 30


def question_header(query: str) -> RenderedPart:
    """The question as a quote above its answer: the chat sees the answer, not the query."""
    shown = query.strip()
    if len(shown) > texts.QUESTION_SHOWN_CHARS:
        shown = shown[: texts.QUESTION_SHOWN_CHARS].rstrip() + "…"
    text = f"❓ {shown}"
    return RenderedPart(text, [MessageEntity(type="blockquote", offset=0, length=utf16_len(text))])


def placeholder(query: str) -> InputTextMessageContent:
    header = question_header(query)
    writing = texts.writing()
    return InputTextMessageContent(
        message_text=f"{header.text}\n\n{writing}", entities=header.entities, parse_mode=None
    )


def create_inline_router() -> Router:
    router = Router(name="inline")

    @router.inline_query()
    async def offer(
        query: InlineQuery,
        user_record: UserRecord,
        chat_service: ChatService,
    ) -> None:
        question = query.query.strip()
        if not question:
            # Nothing to ask yet: a hint, no result (a result would post an empty question).
            await query.answer(
                [], cache_time=0, is_personal=True, button=empty_query_results_button()
            )
            return
        model = await model_for(chat_service, user_record)
        result = InlineQueryResultArticle(
            id=ASK_RESULT_ID,
            title=texts.result_title(model, question),
            description=texts.result_description(),
            input_message_content=placeholder(question),
            reply_markup=ask_too_keyboard(),
        )
        await query.answer([result], cache_time=RESULTS_CACHE_SECONDS, is_personal=True)

    @router.chosen_inline_result()
    async def chosen(
        chosen: ChosenInlineResult,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        settings: Settings,
        chat_service: ChatService,
        bot_limiter: AsyncLimiter,
    ) -> None:
        question = chosen.query.strip()
        if chosen.result_id != ASK_RESULT_ID or not question:
            return  # not a result this bot offers (a forged or an old update)
        if chosen.inline_message_id is None:
            # Without its id the placeholder can't be edited: nothing to answer into.
            log.info("inline: a chosen result without an inline message id")
            return
        await answer_inline(
            bot,
            chat_service,
            settings.bot,
            bot_limiter,
            chosen.inline_message_id,
            user=user_record,
            caller=caller,
            text=question,
            header=question_header(question),
        )

    return router
