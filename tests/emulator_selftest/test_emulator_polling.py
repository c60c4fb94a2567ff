"""The real aiogram polling loop against the emulator: updates, replies, callbacks."""

from __future__ import annotations

import time

import pytest
from aiogram import Bot

from tests.tg_emulator import TINY_PNG, TelegramEmulator


async def test_echo_reply_arrives_promptly(emu: TelegramEmulator, echo_bot: Bot) -> None:
    alice = emu.user(1001, "Alice", username="alice")
    started = time.monotonic()
    for i in range(5):
        await alice.send(f"hi {i} a<b")
        reply = await emu.wait_for_message(alice.id)
        assert reply.text == f"echo: hi {i} a<b"
    # the long poll is woken by each update: no per-message polling_timeout waits
    assert time.monotonic() - started < 1.5
    assert reply.button_texts == ["Edit", "Docs"]
    assert len(alice.chat.messages) == 10
    assert all(c.ok for c in emu.calls("sendMessage"))


async def test_press_answers_callback_and_edits(emu: TelegramEmulator, echo_bot: Bot) -> None:
    bob = emu.user(1002, "Bob")
    await bob.send("ping")
    reply = await emu.wait_for_message(bob.id)
    mark = emu.mark()
    answer = await bob.press(reply, "Edit")
    assert answer is not None and answer.text == "edited!"
    edited = await emu.wait_for_message(bob.id, lambda m: m.text.startswith("edited"))
    assert edited.message_id == reply.message_id
    assert edited.text == "edited: echo: ping"
    assert edited.edits == ["echo: ping"]
    assert edited.reply_markup is None  # editMessageText without markup drops the keyboard
    await emu.wait_quiet(0.1)
    methods = [c.method for c in emu.calls(since=mark, skip_polling=True)]
    assert methods == ["answerCallbackQuery", "editMessageText"]
    with pytest.raises(ValueError, match="no button 'Docs'"):
        await bob.press(edited, "Docs")  # the keyboard is gone after the edit


async def test_user_photo_is_downloadable(emu: TelegramEmulator, echo_bot: Bot) -> None:
    carol = emu.user(1003, "Carol")
    await carol.send_photo(TINY_PNG, caption="look")
    reply = await emu.wait_for_message(carol.id)
    assert reply.text == f"photo {len(TINY_PNG)} bytes"
    assert emu.calls("getFile")


async def test_bot_document_upload_is_stored(emu: TelegramEmulator, echo_bot: Bot) -> None:
    dave = emu.user(1004, "Dave")
    await dave.send("/file")
    doc = await emu.wait_for_message(dave.id)
    assert doc.kind == "document" and doc.text == "report"
    assert doc.entity_texts() == [("bold", "report")]
    assert isinstance(doc.media, dict)
    assert emu.file(doc.media["file_id"]).data == b"report body"
    assert emu.file(doc.media["file_id"]).filename == "report.txt"


async def test_group_mention_and_drafts(emu: TelegramEmulator, echo_bot: Bot) -> None:
    erin = emu.user(1005, "Erin")
    group = emu.group(-100500, "Friends")
    sent = await erin.send_in(group, "/draft", mention_bot=True)
    assert sent.text == "@test_llm_bot /draft"
    assert ("mention", "@test_llm_bot") in sent.entity_texts()
    # "/draft" is not at the start, so Command() does not match; the echo handler answers
    reply = await emu.wait_for_message(group.id)
    assert reply.text == "echo: @test_llm_bot /draft"

    await erin.send("/draft")
    assert (await emu.wait_for_message(erin.id)).text == "draft ok"
    assert [d.text for d in emu.drafts(erin.id)] == ["thinking…"]

    emu.refuse_drafts()
    await erin.send("/draft")
    fallback = await emu.wait_for_message(erin.id)
    assert fallback.text == "draft failed: TelegramBadRequest"


async def test_long_poll_waits_and_offset_confirms(emu: TelegramEmulator, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2
    frank = emu.user(1006, "Frank")
    await frank.send("one")
    await frank.send("two")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["one", "two"]
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert again == [] and emu.pending_updates == 0
