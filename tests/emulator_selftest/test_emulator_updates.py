"""Update kinds, privacy mode, concurrent pollers, webhook replies, internal errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError, TelegramServerError

from tests.tg_emulator import EmulatorState, Request, TelegramEmulator


async def test_update_kinds_reach_get_updates(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(4001, "Hal", username="hal", language_code="ru")
    first = await user.send("/start deep")
    await user.edit(first, "/start edited")
    await user.send_sticker("🔥")
    await user.send_voice()
    await user.send_document(b"%PDF", "a.pdf", "application/pdf", caption="cv")
    await user.inline_query("cats", wait_answer=False)
    updates = await bot.get_updates(timeout=0, allowed_updates=[])
    kinds = [
        next(k for k, v in u.model_dump().items() if v is not None and k != "update_id")
        for u in updates
    ]
    assert kinds == ["message", "edited_message", "message", "message", "message", "inline_query"]
    start = updates[0].message
    assert start is not None and start.from_user is not None
    assert start.from_user.language_code == "ru"
    assert start.entities and start.entities[0].type == "bot_command"
    assert updates[2].message and updates[2].message.sticker
    assert updates[2].message.sticker.emoji == "🔥"
    assert updates[3].message and updates[3].message.voice
    doc = updates[4].message
    assert doc and doc.document and doc.document.file_name == "a.pdf" and doc.caption == "cv"
    assert updates[5].inline_query and updates[5].inline_query.query == "cats"
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_group_privacy_mode(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(4002, "Ida")
    group = emu.group(-1004002, "Team")
    await user.send_in(group, "chatter nobody asked about")
    await user.send_in(group, "hey", mention_bot=True)
    await user.send_in(group, "/help")
    reply_target = await bot.send_message(group.id, "bot says")
    await user.send_in(group, "answering the bot", reply_to=reply_target.message_id)
    updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message]
    assert texts == ["@test_llm_bot hey", "/help", "answering the bot"]
    replied = updates[-1].message
    assert replied and replied.reply_to_message and replied.reply_to_message.text == "bot says"
    assert len(group.messages) == 5  # the chatter is still in the group


async def test_second_poller_terminates_first(emu: TelegramEmulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_until(lambda: len(emu.calls("getUpdates")) == 1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_webhook_response_can_carry_a_method(emu: TelegramEmulator) -> None:
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        update: dict[str, Any] = await request.json()
        chat_id = update["message"]["chat"]["id"]
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "inline"})

    app = web.Application()
    app.router.add_post("/", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        emu.deliver_to([f"http://127.0.0.1:{port}/"])
        user = emu.user(4003, "Jo")
        await user.send("hello")
        reply = await emu.wait_for_message(user.id, timeout=5)
        assert reply.text == "inline"
        assert emu.webhook_deliveries[0].status == 200
    finally:
        await runner.cleanup()


async def test_internal_error_is_a_500_and_recorded(emu: TelegramEmulator, bot: Bot) -> None:
    async def boom(state: EmulatorState, req: Request) -> Any:
        raise RuntimeError("kaput")

    emu.methods.register("getMe", boom)
    with pytest.raises(TelegramServerError, match="kaput"):
        await bot.get_me()
    assert len(emu.errors) == 1 and "kaput" in emu.errors[0]
    emu.errors.clear()  # the fixture fails the test on leftover internal errors


async def test_call_log_counts_per_answer(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(4004, "Kim")
    mark = emu.mark()
    await bot.send_chat_action(user.id, "typing")
    msg = await bot.send_message(user.id, "*x*", parse_mode="Markdown")
    await bot.edit_message_text("y", chat_id=user.id, message_id=msg.message_id)
    calls = emu.calls(since=mark)
    assert [c.method for c in calls] == ["sendChatAction", "sendMessage", "editMessageText"]
    assert calls[1].params["parse_mode"] == "Markdown" and calls[1].result["text"] == "x"
    assert [a.action for a in user.chat.actions] == ["typing"]
    assert user.chat.texts() == ["y"]


async def test_odd_input_never_crashes_the_emulator(emu: TelegramEmulator) -> None:
    import aiohttp

    user = emu.user(4005, "Lee")
    await user.send("a user message")  # message 1
    await emu.execute("sendMessage", {"chat_id": 4005, "text": "bot message"})  # message 2
    junk: list[Any] = [None, "", "abc", -1, 1.5, [], {}, [1, [2]], {"a": {"b": 1}}, True]
    methods = [
        "getUpdates",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
        "sendMessageDraft",
        "sendChatAction",
        "answerCallbackQuery",
        "sendPhoto",
        "sendDocument",
        "getFile",
        "setMyCommands",
        "getMyCommands",
        "setWebhook",
        "getChat",
        "answerInlineQuery",
        "editMessageCaption",
    ]
    fields = [
        "chat_id",
        "text",
        "message_id",
        "message_ids",
        "draft_id",
        "reply_markup",
        "entities",
        "parse_mode",
        "offset",
        "limit",
        "timeout",
        "photo",
        "file_id",
        "commands",
        "scope",
        "reply_parameters",
        "caption",
        "url",
        "action",
        "results",
        "callback_query_id",
    ]
    async with aiohttp.ClientSession() as http:
        for method in methods:
            for j, value in enumerate(junk):
                body = {f: value for f in fields}
                body["chat_id"] = 4005 if j % 2 else value
                body["timeout"] = 0
                body["message_id"] = 1 + j % 3 if j % 3 else value
                form = aiohttp.FormData({k: str(v) for k, v in body.items()})
                async with http.post(f"{emu.base_url}/bot{emu.token}/{method}", data=form) as resp:
                    assert resp.status < 500, (method, value, await resp.text())
                url = f"{emu.base_url}/bot{emu.token}/{method}"
                async with http.post(url, json=body) as resp:
                    data = await resp.json()
                    assert resp.status < 500, (method, value, data)
                    assert data["ok"] is (resp.status == 200)
            async with http.post(
                url, data=b"\xff{not json", headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 400
    assert emu.errors == []
