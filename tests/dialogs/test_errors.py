"""Expired or foreign menu buttons: an answer and a fresh menu, never a traceback."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.utils import remove_intent_id

from .conftest import ADMIN_ID, FRIEND_ID, App, message_with

EXPIRED = "This menu has expired. Here is a fresh one."


def with_intent(message: Message, intent_id: str) -> Message:
    """The same keyboard, but every button points at another (unknown) dialog context."""
    assert message.reply_markup is not None
    rows = [
        [
            InlineKeyboardButton(
                text=b.text,
                callback_data=f"{intent_id}\x1d{remove_intent_id(b.callback_data or '')[1]}",
            )
            for b in row
        ]
        for row in message.reply_markup.inline_keyboard
    ]
    return message_with(message.text or "", InlineKeyboardMarkup(inline_keyboard=rows), 0)


async def test_unknown_intent_answers_and_reopens_stats(app: App) -> None:
    client = app.client(ADMIN_ID)
    await client.send("/stats")
    stale = with_intent(app.mm.last_message(), "gone0000")
    stale = stale.model_copy(update={"chat": app.mm.last_message().chat})
    app.mm.reset_history()
    await client.click(stale, InlineButtonTextLocator("Users"))
    assert [a.text for a in app.bot.answers()] == [EXPIRED]
    assert (app.mm.last_message().text or "").startswith("Usage statistics")


async def test_outdated_menu_after_another_command(app: App) -> None:
    client = app.client(ADMIN_ID)
    await client.send("/access")
    old = app.mm.last_message()
    await client.send("/model")  # resets the stack: the /access menu is gone
    app.mm.reset_history()
    await client.click(old, InlineButtonTextLocator("Friends"))
    assert [a.text for a in app.bot.answers()] == [EXPIRED]
    assert (app.mm.last_message().text or "").startswith("Access management")


async def test_expired_admin_menu_for_non_admin_only_answers(app: App) -> None:
    client = app.client(FRIEND_ID)
    stale = message_with(
        "old",
        InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Users", callback_data="zz\x1ds_users")]]
        ),
        FRIEND_ID,
    )
    await client.click(stale, InlineButtonTextLocator("Users"))
    assert [a.text for a in app.bot.answers()] == [EXPIRED]
    assert not app.mm.sent_messages


async def test_expired_model_menu_reopens_for_friend(app: App) -> None:
    client = app.client(FRIEND_ID)
    stale = message_with(
        "old",
        InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="zz\x1dm_pick:gpt-4o")]]
        ),
        FRIEND_ID,
    )
    await client.click(stale, InlineButtonTextLocator("x"))
    assert [a.text for a in app.bot.answers()] == [EXPIRED]
    assert "Choose a provider" in (app.mm.last_message().text or "")
    record = await app.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None  # the stale pick did nothing
