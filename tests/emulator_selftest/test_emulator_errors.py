"""Telegram's error answers surface as aiogram's real exceptions."""

from __future__ import annotations

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity

from tests.tg_emulator import NOT_MODIFIED, FloodLimits, TelegramEmulator
from tests.tg_emulator.fixtures import make_bot


async def test_get_me_unknown_token_and_method(emu: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.can_join_groups) == (123456789, "test_llm_bot", True)
    stranger = Bot("42:wrong", session=bot.session)
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{emu.token}"
        async with http.post(f"{url}/noSuchMethod", json={}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # JSON bodies work as well as aiogram's form-data
        async with http.post(f"{url}/sendMessage", json={"chat_id": 1, "text": "x"}) as resp:
            assert (await resp.json())["description"] == "Bad Request: chat not found"
        async with http.post(f"{url}/setChatMenuButton", json={}) as resp:
            assert (await resp.json())["result"] is True
    assert emu.unknown_methods == ["noSuchMethod"]
    assert [c.method for c in emu.generic_calls] == ["setChatMenuButton"]


async def test_html_is_validated_and_stored_as_seen(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2001, "Ann")
    msg = await bot.send_message(user.id, "a &lt; b <b>bold</b> 😀 <i>x</i>", parse_mode="HTML")
    assert msg.text == "a < b bold 😀 x"
    shown = user.chat.last
    assert shown is not None and shown.entity_texts() == [("bold", "bold"), ("italic", "x")]
    assert shown.entities[1]["offset"] == 14  # UTF-16: the emoji counts as two units
    bad = {
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "<b>open": 'Can\'t find end tag corresponding to start tag "b"',
        "<b><i>x</b></i>": 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"',
        "<h1>x</h1>": 'Unsupported start tag "h1" at byte offset 0',
    }
    for text, reason in bad.items():
        with pytest.raises(TelegramBadRequest) as err:
            await bot.send_message(user.id, text, parse_mode="HTML")
        assert err.value.message == f"Bad Request: can't parse entities: {reason}"


async def test_markdown_v2_and_entities_validation(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2002, "Ben")
    ok = await bot.send_message(user.id, r"*bold* and 1\.5", parse_mode="MarkdownV2")
    assert ok.text == "bold and 1.5"
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(user.id, "1.5", parse_mode="MarkdownV2")
    ents = [MessageEntity(type="bold", offset=0, length=2)]
    assert (await bot.send_message(user.id, "😀", entities=ents)).entities
    with pytest.raises(TelegramBadRequest, match="beyond the end of text"):
        await bot.send_message(
            user.id, "ab", entities=[MessageEntity(type="bold", offset=1, length=5)]
        )


async def test_length_empty_and_not_modified(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2003, "Cid")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    await bot.send_message(user.id, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user.id, "   ")
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]])
    msg = await bot.send_message(user.id, "<b>same</b>", parse_mode="HTML", reply_markup=kb)
    with pytest.raises(TelegramBadRequest) as err:
        await bot.edit_message_text(
            "<b>same</b>",
            chat_id=user.id,
            message_id=msg.message_id,
            parse_mode="HTML",
            reply_markup=kb,
        )
    assert err.value.message == NOT_MODIFIED
    # same text but plain (entities differ) is a real modification
    await bot.edit_message_text("same", chat_id=user.id, message_id=msg.message_id, reply_markup=kb)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)
    assert await bot.delete_message(user.id, msg.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, msg.message_id)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        long_kb = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="x" * 65)]]
        )
        await bot.send_message(user.id, "kb", reply_markup=long_kb)


async def test_fault_injection_and_blocked_user(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2004, "Dee")
    rule = emu.fail_next("sendMessage", code=429, retry_after=3, times=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as err:
            await bot.send_message(user.id, "hi")
        assert err.value.retry_after == 3
    await bot.send_message(user.id, "hi")
    assert rule.hits == 2 and rule.remaining == 0
    assert [c.injected for c in emu.calls("sendMessage")] == [True, True, False]
    assert emu.served_429 == 2 and emu.flood_429_count == 0  # the limiter is off by default

    forever = emu.fail_next("sendChatAction", code=500, times=None)
    for _ in range(3):
        with pytest.raises(TelegramServerError):
            await bot.send_chat_action(user.id, "typing")
    emu.clear_faults()
    assert forever.hits == 3 and await bot.send_chat_action(user.id, "typing")

    emu.fail_next(
        "*", code=400, description="Bad Request: boom", when=lambda p: p.get("text") == "x"
    )
    await bot.send_message(user.id, "y")
    with pytest.raises(TelegramBadRequest, match="boom"):
        await bot.send_message(user.id, "x")

    user.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "hi")


async def test_realistic_flood_limiter() -> None:
    from tests.tg_emulator.fixtures import running_emulator

    async with running_emulator(flood_limits=FloodLimits(per_chat_burst=2)) as emu:
        bot = make_bot(emu)
        user = emu.user(2005, "Eve")
        sent, limited = 0, []
        for i in range(4):
            try:
                await bot.send_message(user.id, f"m{i}")
                sent += 1
            except TelegramRetryAfter as exc:
                limited.append(exc.retry_after)
        await bot.session.close()
    assert sent == 2 and limited == [1, 1]
    assert emu.flood_429_count == 2


async def test_drafts_private_only(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2006, "Fay")
    group = emu.group(-1002006, "G")
    assert await bot.send_message_draft(
        chat_id=user.id, draft_id=1, text="<i>par</i>", parse_mode="HTML"
    )
    assert await bot.send_message_draft(chat_id=user.id, draft_id=1, text="")  # "Thinking…"
    assert [(d.text, d.entities) for d in emu.drafts(user.id)] == [
        ("par", [{"type": "italic", "offset": 0, "length": 3}]),
        ("", []),
    ]
    with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):
        await bot.send_message_draft(chat_id=group.id, draft_id=1, text="x")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message_draft(chat_id=user.id, draft_id=1, text="y" * 5000)


async def test_commands_per_scope(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand(command="model", description="Pick a model")])
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(
        [BotCommand(command="stats", description="Статистика")], scope=scope, language_code="ru"
    )
    assert emu.commands() == [{"command": "model", "description": "Pick a model"}]
    assert emu.commands({"type": "all_private_chats"}, "ru") == [
        {"command": "stats", "description": "Статистика"}
    ]
    got = await bot.get_my_commands(scope=scope, language_code="ru")
    assert [c.command for c in got] == ["stats"]
    await bot.delete_my_commands()
    assert emu.commands() is None
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_media_messages_and_edits(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.types import BufferedInputFile, InputMediaPhoto

    from tests.tg_emulator import TINY_PNG

    user = emu.user(2007, "Gil")
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="N", callback_data="n")]])
    sent = await bot.send_photo(
        user.id,
        BufferedInputFile(TINY_PNG, "chart.png"),
        caption="<b>p1</b>",
        parse_mode="HTML",
        reply_markup=kb,
    )
    assert sent.photo and sent.caption == "p1"
    shown = user.chat.last
    assert shown is not None and shown.kind == "photo" and shown.button_texts == ["N"]
    new = InputMediaPhoto(media=BufferedInputFile(b"png2", "c2.png"), caption="p2")
    await bot.edit_message_media(new, chat_id=user.id, message_id=sent.message_id, reply_markup=kb)
    assert shown.text == "p2" and isinstance(shown.media, list)
    assert emu.file(shown.media[-1]["file_id"]).data == b"png2"
    same = InputMediaPhoto(media=shown.media[-1]["file_id"], caption="p2")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_media(
            same, chat_id=user.id, message_id=sent.message_id, reply_markup=kb
        )
    await bot.edit_message_caption(chat_id=user.id, message_id=sent.message_id, caption="p3")
    assert shown.text == "p3" and shown.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.edit_message_caption(
            chat_id=user.id, message_id=sent.message_id, caption="c" * 1025
        )
    with pytest.raises(TelegramBadRequest, match="failed to get HTTP URL content"):
        await bot.send_photo(user.id, "https://example.org/cat.jpg")


async def test_html_code_blocks_and_current_draft(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(2008, "Hana")
    html = '<pre><code class="language-python">x = <b>1</b></code></pre>\n<pre>plain</pre>'
    msg = await bot.send_message(user.id, html, parse_mode="HTML")
    assert msg.text == "x = 1\nplain"
    shown = user.chat.last
    assert shown is not None
    assert [(e["type"], e.get("language")) for e in shown.entities] == [
        ("pre", "python"),
        ("pre", None),
    ]
    await bot.send_message_draft(chat_id=user.id, draft_id=3, text="partial")
    assert user.chat.current_draft is not None and user.chat.current_draft.text == "partial"
    await bot.send_message(user.id, "final")
    assert user.chat.current_draft is None
