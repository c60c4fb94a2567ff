"""What a stranger gets in inline and guest mode (called by the access gate): never a
model call.

- An inline query: no results, a "Request access" button above them that switches to the
  bot's private chat (where the request is made). It costs nothing and posts nothing.
- A chosen result (a friend's, cached by Telegram, chosen after their access ended): the
  placeholder it posted says so, instead of "Writing the answer…" forever.
- A guest message: a short reply with a button to the bot's private chat, at most once
  per refusal cooldown, like a refusal in a private chat. The stranger summoned the bot on
  purpose, so silence would look like a broken bot; but the reply is posted into a chat
  other people read, so it stays one short line, and one who keeps summoning is ignored."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    ChosenInlineResult,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
)

from app.bot.inline import texts
from app.bot.inline.keyboards import private_chat_keyboard, request_access_results_button

log = logging.getLogger(__name__)


async def refuse_inline_query(query: InlineQuery) -> None:
    # Not cached: once an admin approves, the next keystroke shows the real result.
    await query.answer([], cache_time=0, is_personal=True, button=request_access_results_button())


async def replace_placeholder(chosen: ChosenInlineResult, text: str) -> None:
    """Put ``text`` where the chosen result's placeholder waits for an answer that will
    not come (without an inline_message_id nothing can be edited)."""
    if chosen.inline_message_id is None or chosen.bot is None:
        return
    try:
        await chosen.bot.edit_message_text(
            text, inline_message_id=chosen.inline_message_id, parse_mode=None
        )
    except TelegramAPIError as exc:
        log.info("inline: placeholder not replaced: %s", exc)


async def refuse_chosen_result(chosen: ChosenInlineResult) -> None:
    await replace_placeholder(chosen, texts.no_access())


async def refuse_guest_message(message: Message) -> None:
    if message.guest_query_id is None or message.bot is None:
        return
    me = await message.bot.me()
    text = texts.guest_refusal()
    result = InlineQueryResultArticle(
        id="access",
        title=text[:64],
        input_message_content=InputTextMessageContent(message_text=text, parse_mode=None),
        reply_markup=private_chat_keyboard(me.username) if me.username else None,
    )
    try:
        await message.answer_guest_query(result=result)
    except TelegramAPIError as exc:
        log.info("guest: refusal not posted: %s", exc)
