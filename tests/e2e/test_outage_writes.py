"""A database outage answered properly, and the writes that matter not dropped: /new gets
the outage message (never the generic error) and waits out a short outage; an exchange
answered while the database was unavailable lands in the conversation afterwards."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util

import pytest

from app.storage import open_memory_storage
from app.storage.base import Turn
from tests.e2e.conftest import FRIEND_ID, StartBot

OUTAGE_TEXT = "⚠️ The database is unavailable right now. Try again later."
GENERIC_TEXT = "Something went wrong"


def _is_reply(text: str | None) -> bool:
    return (text or "").startswith(("🆕", "⚠️"))


async def test_new_during_an_outage_gets_the_outage_message(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /new waits up to DEFAULT_PATIENCE for the database; this outage outlasts a short one.
    # (Looked up by name: the module is new, and the test must fail on the old code too.)
    if importlib.util.find_spec("app.storage.patience") is not None:
        patience = importlib.import_module("app.storage.patience")
        monkeypatch.setattr(patience, "DEFAULT_PATIENCE", 0.3)
    storage = open_memory_storage(probe_interval=0.05)
    async with start_bot(storage=storage) as running:
        tg = running.tg
        user = tg.user(FRIEND_ID, "Fred")
        await user.send("before")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: before")
        old = await storage.conversations.active(FRIEND_ID, FRIEND_ID)

        storage.breaker.inject_outage()
        await user.send("/new")
        reply = await tg.wait_for_message(FRIEND_ID, lambda m: _is_reply(m.text))
        assert reply.text == OUTAGE_TEXT
        assert not any(GENERIC_TEXT in (m.text or "") for m in tg.chat(FRIEND_ID).messages)

        storage.breaker.clear_outage()
        assert await storage.breaker.wait_available(timeout=5)
        # Told so, the user is still in the old conversation.
        assert (await storage.conversations.active(FRIEND_ID, FRIEND_ID)).id == old.id


async def test_new_waits_out_a_short_outage(start_bot: StartBot) -> None:
    storage = open_memory_storage(probe_interval=0.05)
    async with start_bot(storage=storage) as running:
        tg = running.tg
        user = tg.user(FRIEND_ID, "Fred")
        await user.send("before")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: before")
        old = await storage.conversations.active(FRIEND_ID, FRIEND_ID)

        storage.breaker.inject_outage()
        await user.send("/new")
        await asyncio.sleep(0.3)
        storage.breaker.clear_outage()  # back within /new's patience
        reply = await tg.wait_for_message(FRIEND_ID, lambda m: _is_reply(m.text))
        assert (reply.text or "").startswith("🆕")
        fresh = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert fresh.id != old.id and not fresh.turns


async def test_an_exchange_answered_during_an_outage_lands_afterwards(
    start_bot: StartBot,
) -> None:
    storage = open_memory_storage(probe_interval=0.05)
    async with start_bot(storage=storage) as running:
        tg = running.tg
        user = tg.user(FRIEND_ID, "Fred")
        await user.send("first")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: first")

        storage.breaker.inject_outage()
        await user.send("during")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: during")
        storage.breaker.clear_outage()
        assert await storage.drain_writes(timeout=10)
        conv = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert [(t.role, t.content) for t in conv.turns] == [
            ("user", "first"),
            ("assistant", "echo: first"),
            ("user", "during"),
            ("assistant", "echo: during"),
        ]
        assert all(isinstance(t, Turn) for t in conv.turns)


async def test_a_handler_hit_by_an_outage_answers_with_the_outage_message(
    start_bot: StartBot,
) -> None:
    """A handler with no outage handling of its own (setting the language writes the user
    record): the errors router answers with the outage message, not the generic error."""
    storage = open_memory_storage(probe_interval=0.05)
    async with start_bot(storage=storage) as running:
        tg = running.tg
        user = tg.user(FRIEND_ID, "Fred")
        await user.send("/language")
        menu = await tg.wait_for_message(FRIEND_ID, lambda m: bool(m.buttons))
        storage.breaker.inject_outage()
        answer = await user.press(menu, "Русский")
        assert answer is not None and answer.text == OUTAGE_TEXT
