"""A bot that explains itself: /help and the command menu come from one list per role,
chat type and features; bare toggles answer with buttons; an admin's /start is the
owner's guide; long work keeps its chat action alive."""

from __future__ import annotations

import asyncio
import re

import pytest

from app.bot.account.menu import register_commands
from app.bot.media import chat_action
from app.services.media.service import MediaService
from llmdoor import Role
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, Running
from tests.fakes.openai_server import Reply
from tests.tg_emulator.server import TelegramEmulator

_COMMAND = re.compile(r"^(?:- )?/(\w+)", re.MULTILINE)


def _listed(text: str) -> list[str]:
    """The commands a /help message lists, one per line, in order."""
    return _COMMAND.findall(text)


async def _register(running: Running) -> None:
    app = running.app
    media: MediaService = app.dispatcher.workflow_data["media"]
    await register_commands(
        app.bot,
        app.i18n,
        [ADMIN_ID],
        friend_features=await media.features(Role.FRIEND),
        admin_features=await media.features(Role.ADMIN),
    )


def _menu(tg: TelegramEmulator, scope: dict[str, object]) -> list[str]:
    return [c["command"] for c in tg.commands(scope) or []]


async def test_help_and_the_menu_agree_per_role_and_chat_type(running: Running) -> None:
    tg = running.tg
    await _register(running)
    friend, admin = tg.user(FRIEND_ID, "Fred"), tg.user(ADMIN_ID, "Ada")

    await friend.send("/help")
    friend_help = await tg.wait_for_message(friend.id, lambda m: "/new" in m.text)
    friend_menu = _menu(tg, {"type": "all_private_chats"})
    assert _listed(friend_help.text) == friend_menu
    assert {"tools", "image", "voice"} <= set(friend_menu)
    assert "stats" not in friend_menu and "access" not in friend_menu
    assert _menu(tg, {"type": "default"}) == friend_menu

    await admin.send("/help")
    admin_help = await tg.wait_for_message(admin.id, lambda m: "/new" in m.text)
    admin_menu = _menu(tg, {"type": "chat", "chat_id": ADMIN_ID})
    assert _listed(admin_help.text) == admin_menu
    assert admin_menu[-2:] == ["stats", "access"]

    group = tg.group()
    await friend.send_in(group, "/help")
    group_help = await tg.wait_for_message(group.id, lambda m: "/new" in m.text)
    group_menu = _menu(tg, {"type": "all_group_chats"})
    assert _listed(group_help.text) == group_menu
    assert "me" not in group_menu and "new" in group_menu
    # The rest of /help says what the bot does beyond commands.
    for words in ("photo", "PDF", "search the web", "group"):
        assert words in friend_help.text


async def test_bare_toggles_answer_with_buttons_that_switch(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/usage")
    usage = await tg.wait_for_message(friend.id, lambda m: "footer" in m.text)
    assert usage.button_texts == ["On", "✓ Off"]
    await friend.press(usage, "On")
    switched = await tg.wait_for_message(
        friend.id, lambda m: m.message_id == usage.message_id and "📊" in m.text
    )
    assert switched.button_texts == ["✓ On", "Off"]
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.prefs.usage_footer

    await friend.send("/reasoning")
    reasoning = await tg.wait_for_message(friend.id, lambda m: "Reasoning display" in m.text)
    assert len(reasoning.button_texts) == 3
    await friend.press(reasoning, "Stream")
    await tg.wait_for_message(
        friend.id, lambda m: m.message_id == reasoning.message_id and "stream:" in m.text
    )
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.prefs.reasoning == "stream"

    await friend.send("/voice")
    voice = await tg.wait_for_message(friend.id, lambda m: "Spoken replies are off" in m.text)
    assert voice.button_texts == ["On", "✓ Off"]
    await friend.press(voice, "On")
    await tg.wait_for_message(
        friend.id, lambda m: m.message_id == voice.message_id and "🔊" in m.text
    )


async def test_an_admins_start_is_the_owners_guide(running: Running) -> None:
    tg = running.tg
    admin, friend = tg.user(ADMIN_ID, "Ada"), tg.user(FRIEND_ID, "Fred")
    await admin.send("/start")
    guide = await tg.wait_for_message(admin.id, lambda m: "Hi, Ada" in m.text)
    for words in ("Invite friends", "approval card", "/access", "budget", "/model", "/stats"):
        assert words in guide.text
    await friend.send("/start")
    hello = await tg.wait_for_message(friend.id, lambda m: "Hi, Fred" in m.text)
    assert "Invite friends" not in hello.text and "/new" in hello.text


async def test_a_slow_picture_keeps_its_chat_action_alive(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.media.script(Reply.slow(1.2))
    monkeypatch.setattr(chat_action, "REPEAT_SECONDS", 0.3)
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/image a slow red square")
    await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")
    actions = tg.calls("sendChatAction", chat_id=admin.id)
    assert len(actions) >= 3, len(actions)
    assert {c.params["action"] for c in actions} == {"upload_photo"}
    # One may have been on its way while the picture went out; then none follow.
    await asyncio.sleep(0.7)
    settled = len(tg.calls("sendChatAction", chat_id=admin.id))
    assert settled <= len(actions) + 1
    await asyncio.sleep(0.7)
    assert len(tg.calls("sendChatAction", chat_id=admin.id)) == settled  # stopped
