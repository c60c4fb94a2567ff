"""/model: the dialog, direct switching and suggestion buttons."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator

from app.bot.dialogs.model.dialog import ModelPick

from .conftest import ADMIN_ID, FRIEND_ID, App, message_with


def buttons(message: Message) -> list[str]:
    markup = message.reply_markup
    assert markup is not None
    return [b.text for row in markup.inline_keyboard for b in row]


async def test_lists_only_available_providers_and_marks_current(app: App) -> None:
    await app.client(FRIEND_ID).send("/model")
    msg = app.mm.one_message()
    assert "Current model: gpt-4o-mini" in (msg.text or "")
    labels = buttons(msg)
    # Only OpenAI has a key: no anthropic/gemini/bedrock entries, and no local ollama
    # (OLLAMA_API_BASE is not set).
    assert labels == [next(t for t in labels if t.startswith("✅ openai (")), "Close"]


async def test_models_page_paginated_with_details_and_current(app: App) -> None:
    client = app.client(FRIEND_ID)
    await client.send("/model")
    await client.click(app.mm.last_message(), InlineButtonTextLocator(r"✅ openai \(\d+\)"))
    page1 = buttons(app.mm.last_message())
    assert "✅ gpt-4o-mini · 128k ctx · $0.15/$0.60 per 1M" in page1
    assert "gpt-4o · 128k ctx · $2.50/$10.00 per 1M" in page1
    assert ">" in page1  # more than one page of OpenAI models
    assert not any(t.startswith("claude") for t in page1)
    await client.click(app.mm.last_message(), InlineButtonTextLocator(">"))
    page2 = buttons(app.mm.last_message())
    models1 = {t for t in page1 if "·" in t}
    models2 = {t for t in page2 if "·" in t}
    assert models2 and not (models1 & models2)


async def test_pick_persists_and_confirms_in_place(app: App) -> None:
    client = app.client(FRIEND_ID)
    await client.send("/model")
    await client.click(app.mm.last_message(), InlineButtonTextLocator(r"✅ openai \(\d+\)"))
    menu_id = app.mm.last_message().message_id
    app.mm.renders.clear()
    await client.click(app.mm.last_message(), InlineButtonTextLocator(r"gpt-4o · .*"))
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4o"
    assert app.mm.last_message().text.splitlines()[0] == "Model set to gpt-4o."
    # Rendered over the previous dialog message (a callback edits, it does not send).
    [(mode, old_id)] = app.mm.renders
    assert old_id == menu_id and mode in ("auto", "edit")
    # Reopening marks the new choice.
    await client.click(app.mm.last_message(), InlineButtonTextLocator("Choose another model"))
    await client.click(app.mm.last_message(), InlineButtonTextLocator(r"✅ openai \(\d+\)"))
    assert any(t.startswith("✅ gpt-4o · ") for t in buttons(app.mm.last_message()))


async def test_no_available_model_says_so(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    await app.client(FRIEND_ID).send("/model")
    text = app.mm.one_message().text or ""
    assert "No model is available" in text and "gpt-4o-mini" in text


async def test_direct_switch(app: App) -> None:
    await app.client(FRIEND_ID).send("/model gpt-4o")
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4o"
    [sent] = app.bot.of(SendMessage)
    assert sent.text.splitlines()[0] == "Model set to gpt-4o."
    assert not app.mm.sent_messages  # no dialog opened


async def test_direct_switch_refuses_model_without_key(app: App) -> None:
    await app.client(FRIEND_ID).send("/model claude-sonnet")
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None
    [sent] = app.bot.of(SendMessage)
    assert "not available" in (sent.text or "")


async def test_unknown_name_suggests_and_click_switches(app: App) -> None:
    client = app.client(FRIEND_ID)
    await client.send("/model gpt4oo")
    [sent] = app.bot.of(SendMessage)
    assert sent.text == "Unknown model gpt4oo. Did you mean one of these?"
    assert isinstance(sent.reply_markup, InlineKeyboardMarkup)
    names = [b.text for row in sent.reply_markup.inline_keyboard for b in row]
    assert "gpt-4o" in names
    msg = message_with(sent.text, sent.reply_markup, FRIEND_ID)
    await client.click(msg, InlineButtonTextLocator("gpt-4o"))
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4o"
    [edit] = app.bot.of(EditMessageText)
    assert edit.text.splitlines()[0] == "Model set to gpt-4o."


@pytest.mark.parametrize("forged", ["evil/model", "nonsense", "claude-sonnet"])
async def test_forged_suggestion_rejected(app: App, forged: str) -> None:
    client = app.client(FRIEND_ID)
    button = InlineKeyboardButton(text="x", callback_data=ModelPick(name=forged).pack())
    msg = message_with("?", InlineKeyboardMarkup(inline_keyboard=[[button]]), FRIEND_ID)
    await client.click(msg, InlineButtonTextLocator("x"))
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None
    [answer] = app.bot.of(AnswerCallbackQuery)
    assert answer.text == "Unknown model." and answer.show_alert
    assert not app.bot.of(EditMessageText)


async def test_open_menu_does_not_swallow_chat(app: App) -> None:
    client = app.client(FRIEND_ID)
    await client.send("/model")
    await client.send("hello there")
    assert app.fallthrough == ["hello there"]


async def test_menu_command_and_buttons_apply_one_rule(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local ollama models (unpriced) are admins' only: the menu does not list them for a
    friend, typing the name is refused, and a forged suggestion button is rejected."""
    monkeypatch.setenv("OLLAMA_API_BASE", "http://gpu-box:11434")
    friend = app.client(FRIEND_ID)
    await friend.send("/model")
    assert not any(t.startswith("ollama") for t in buttons(app.mm.last_message()))
    await friend.send("/model llama3")
    assert app.bot.of(SendMessage)[-1].text == (
        "Model llama3 is not in the catalog. Pick one with /model."
    )
    button = InlineKeyboardButton(text="x", callback_data=ModelPick(name="llama3").pack())
    await friend.click(
        message_with("?", InlineKeyboardMarkup(inline_keyboard=[[button]]), FRIEND_ID),
        InlineButtonTextLocator("x"),
    )
    assert app.bot.answers()[-1].text == "Unknown model."
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None

    admin = app.client(ADMIN_ID)
    await admin.send("/model")
    await admin.click(app.mm.last_message(), InlineButtonTextLocator(r"ollama \(\d+\)"))
    await admin.click(app.mm.last_message(), InlineButtonTextLocator("llama3 · .*|llama3"))
    assert app.mm.last_message().text.splitlines()[0] == "Model set to llama3."


async def test_direct_switch_echo_is_clipped(app: App) -> None:
    await app.client(FRIEND_ID).send("/model " + "y" * 4000)
    [sent] = app.bot.of(SendMessage)
    assert sent.text == f"Unknown model {'y' * 64}…. Send /model to see the available models."
