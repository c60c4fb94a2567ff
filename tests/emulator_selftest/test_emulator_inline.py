"""Inline mode and guest mode in the emulator: answerInlineQuery validated like Telegram,
a chosen result posted and reported with its inline_message_id, editMessageText by
inline_message_id, guest messages and answerGuestQuery."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    MessageEntity,
)

from tests.tg_emulator import TelegramEmulator

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="more", switch_inline_query_current_chat="")]]
)


def article(
    rid: str, text: str = "placeholder", *, keyboard: bool = True
) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=rid,
        title=f"title {rid}",
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=KEYBOARD if keyboard else None,
    )


async def _query_id(bot: Bot) -> str:
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].inline_query
    assert query is not None
    return query.id


async def test_answer_inline_query_is_validated_like_telegram(
    emu: TelegramEmulator, bot: Bot
) -> None:
    user = emu.user(5001, "Ina")
    await user.inline_query("cats", wait_answer=False)
    qid = await _query_id(bot)
    too_many = [article(str(i)) for i in range(51)]
    with pytest.raises(TelegramBadRequest, match="RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(qid, too_many)
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(qid, [article("a"), article("a")])
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_INVALID"):
        await bot.answer_inline_query(qid, [article("x" * 65)])
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.answer_inline_query(qid, [article("a", text="")])
    bad_button = InlineQueryResultsButton(text="go", start_parameter="not allowed!")
    with pytest.raises(TelegramBadRequest, match="START_PARAM_INVALID"):
        await bot.answer_inline_query(qid, [], button=bad_button)
    assert qid not in emu.inline_answers  # nothing refused was kept
    button = InlineQueryResultsButton(text="Request access", start_parameter="access")
    assert await bot.answer_inline_query(qid, [], is_personal=True, cache_time=0, button=button)
    kept = emu.inline_answers[qid]
    assert kept.results == [] and kept.params["button"]["start_parameter"] == "access"
    assert kept.params["is_personal"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(qid, [])  # answered once


async def test_chosen_result_is_posted_and_edited_by_inline_message_id(
    emu: TelegramEmulator, bot: Bot
) -> None:
    user = emu.user(5002, "Ivo")
    group = emu.group(-1005002, "Friends")
    await user.inline_query("what is 2+2", wait_answer=False)
    qid = await _query_id(bot)
    await bot.answer_inline_query(qid, [article("ask", "⏳ thinking"), article("b", "other")])
    posted = user.choose(emu.inline_answers[qid], "ask", where=group)
    assert posted.text == "⏳ thinking" and posted.chat_id == group.id
    assert posted.buttons[0]["text"] == "more"
    updates = await bot.get_updates(timeout=0, offset=-1)
    chosen = updates[-1].chosen_inline_result
    assert chosen is not None
    assert chosen.result_id == "ask" and chosen.query == "what is 2+2"
    assert chosen.inline_message_id == posted.inline_message_id
    assert chosen.from_user.id == user.id
    bold = [MessageEntity(type="bold", offset=0, length=4)]
    assert (
        await bot.edit_message_text(
            "four, of course", inline_message_id=posted.inline_message_id, entities=bold
        )
        is True
    )
    assert posted.text == "four, of course" and posted.edits == ["⏳ thinking"]
    assert posted.entity_texts("bold") == [("bold", "four")]
    assert posted.reply_markup is None  # an edit without reply_markup drops the keyboard
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "four, of course", inline_message_id=posted.inline_message_id, entities=bold
        )
    with pytest.raises(TelegramBadRequest, match="MESSAGE_ID_INVALID"):
        await bot.edit_message_text("x", inline_message_id="AgAAAnope")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.edit_message_text("x" * 4097, inline_message_id=posted.inline_message_id)


async def test_chosen_result_without_keyboard_has_no_inline_message_id(
    emu: TelegramEmulator, bot: Bot
) -> None:
    user = emu.user(5003, "Ola")
    await user.inline_query("q", wait_answer=False)
    qid = await _query_id(bot)
    await bot.answer_inline_query(qid, [article("a", keyboard=False)])
    user.choose(emu.inline_answers[qid])
    updates = await bot.get_updates(timeout=0, offset=-1)
    chosen = updates[-1].chosen_inline_result
    assert chosen is not None and chosen.inline_message_id is None
    emu.inline_feedback = False  # /setinlinefeedback off: no update at all
    await user.inline_query("q2", wait_answer=False)
    qid = await _query_id(bot)
    await bot.answer_inline_query(qid, [article("a")])
    user.choose(emu.inline_answers[qid])
    assert all(u.chosen_inline_result is None for u in await bot.get_updates(timeout=0, offset=-1))


async def test_guest_message_and_answer_guest_query(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(5004, "Gus")
    other = emu.user(5005, "Ann")
    group = emu.group(-1005004, "Not the bot's")
    original = await other.send_in(group, "the bridge is closed today")
    query = user.send_guest(group, "is that true?", reply_to=original)
    updates = await bot.get_updates(timeout=0)
    guest = updates[-1].guest_message
    assert guest is not None and guest.guest_query_id == query.guest_query_id
    assert guest.text == f"@{emu.bot_username} is that true?"
    assert guest.chat.id == group.id and guest.from_user is not None
    assert guest.reply_to_message is not None
    assert guest.reply_to_message.text == "the bridge is closed today"
    sent = await bot.answer_guest_query(
        guest_query_id=query.guest_query_id, result=article("g", "⏳", keyboard=False)
    )
    assert query.answer is not None and sent.inline_message_id == query.answer.inline_message_id
    assert query.answer.chat_id == group.id and query.answer.text == "⏳"
    await bot.edit_message_text("It is.", inline_message_id=sent.inline_message_id)
    assert emu.inline_messages[sent.inline_message_id].text == "It is."
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_guest_query(
            guest_query_id=query.guest_query_id, result=article("g", "again")
        )


async def test_guest_message_with_media(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(5006, "Vic")
    group = emu.group(-1005006, "Voices")
    user.send_guest(group, "", voice=True)
    user.send_guest(group, "what is it?", photo=True)
    updates = await bot.get_updates(timeout=0)
    voice, photo = (u.guest_message for u in updates[-2:])
    assert voice is not None and voice.voice is not None
    assert photo is not None and photo.photo and photo.caption == f"@{emu.bot_username} what is it?"


async def test_guest_query_results_are_validated(emu: TelegramEmulator) -> None:
    user = emu.user(5007, "Val")
    group = emu.group(-1005007, "G")
    query = user.send_guest(group, "hi")
    bad: dict[str, Any] = {"type": "article", "id": "a", "title": "t"}
    status, body = await emu.execute(
        "answerGuestQuery", {"guest_query_id": query.guest_query_id, "result": bad}
    )
    assert status == 400 and "input_message_content" in body["description"]
    assert query.answer is None
