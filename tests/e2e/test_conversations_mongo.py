"""The conversation features end to end on MongoDB (the SecantusDB stand-in unless
TEST_MONGODB_URI is set): switching back with context and persona, search, delete, forum
topics and a reply that continues an earlier conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import MongoClient

from app.services.conversations.personas import PersonaService
from app.storage import Storage, open_storage
from tests.e2e.conftest import FRIEND_ID, StartBot
from tests.e2e.test_conversations import button, contents, open_chats, say, system_prompt
from tests.storage.mongo_server import MongoTarget, fresh_db_name, mongo_label

pytestmark = pytest.mark.mongodb


@pytest.fixture
async def mongo_storage(mongo: MongoTarget) -> AsyncIterator[Storage]:
    name = fresh_db_name("e2e_conv")
    storage = await open_storage(mongo.uri, db_name=name)
    yield storage
    await storage.close()
    with MongoClient(mongo.uri) as client:
        client.drop_database(name)


@pytest.mark.parametrize("server", [mongo_label()])
async def test_conversations_on_mongodb(
    start_bot: StartBot, mongo_storage: Storage, server: str
) -> None:
    async with start_bot(storage=mongo_storage) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/persona")
        menu = await tg.wait_for_message(friend.id, lambda m: "Persona of this" in m.text)
        await friend.press(menu, button(menu, "Translator"))
        await tg.wait_until(lambda: "Persona set: Translator" in menu.text)
        old_answer = await say(tg, friend, "the password is swordfish")
        await say(tg, friend, "something later")
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        await say(tg, friend, "another subject")

        # search, open, and the old persona with the old context
        menu = await open_chats(tg, friend)
        await friend.press(menu, "🔎 Search")
        await tg.wait_until(lambda: "words to look for" in menu.text)
        await friend.send("swordfish")
        found = await tg.wait_for_message(friend.id, lambda m: "Found for «swordfish»: 1" in m.text)
        await friend.press(found, button(found, "the password is swordfish"))
        await tg.wait_until(lambda: "Started" in found.text)
        await friend.press(found, "▶️ Open")
        await tg.wait_until(lambda: "is the active conversation now" in found.text)
        await say(tg, friend, "what was it?")
        assert system_prompt(running) == PersonaService(storage).builtin("translator").prompt
        assert "the password is swordfish" in contents(running)

        # a reply to an answer that is no longer the last one forks from there
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        await friend.send("repeat it", reply_to=old_answer)
        await tg.wait_for_message(friend.id, lambda m: "Continuing the conversation" in m.text)
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: repeat it")
        assert contents(running)[-3:] == [
            "the password is swordfish",
            "echo: the password is swordfish",
            "repeat it",
        ]

        # forum topics are separate conversations
        forum = tg.group(-1009, "Forum", forum=True)
        await friend.send_in(forum, "topic A likes cats", mention_bot=True, thread_id=1)
        await tg.wait_for_message(forum.id, lambda m: m.from_bot and "cats" in m.text)
        await friend.send_in(forum, "topic B likes dogs", mention_bot=True, thread_id=2)
        await tg.wait_for_message(forum.id, lambda m: m.from_bot and "dogs" in m.text)
        await friend.send_in(forum, "which pet?", mention_bot=True, thread_id=1)
        answer = await tg.wait_for_message(forum.id, lambda m: m.from_bot and "which pet" in m.text)
        assert answer.extra.get("message_thread_id") == 1
        sent = " ".join(contents(running))
        assert "cats" in sent and "dogs" not in sent

        # delete removes the document with its turns
        menu = await open_chats(tg, friend)
        total = await storage.conversations.count(FRIEND_ID, FRIEND_ID)
        await friend.press(menu, button(menu, "another subject"))
        await tg.wait_until(lambda: "Started" in menu.text)
        await friend.press(menu, "🗑 Delete")
        await tg.wait_until(lambda: "can't be undone" in menu.text)
        await friend.press(menu, "🗑 Yes, delete")
        await tg.wait_until(lambda: "Deleted «another subject»" in menu.text)
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == total - 1
        assert await storage.conversations.search(FRIEND_ID, FRIEND_ID, 0, ["subject"]) == []
