"""Conversations end to end on the emulator: /new keeps the old one, /chats switches back
(with the old context and persona), renames, deletes (and a stale button afterwards), exports
(the documents' content, split into parts), searches, and refuses a forged button; the
per-user cap archives; titles come from one recorded model call; /model says what it
changed."""

from __future__ import annotations

import json

from app.services.chat.service import TOOLS_PROMPT
from app.services.conversations.personas import PersonaService
from app.services.conversations.service import PAGE_SIZE, SEARCH_LIMIT
from app.services.conversations.settings import ConversationSettings
from app.storage import Turn
from tests.e2e.conftest import ADMIN_ID, FAKE_MODEL, FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import Reply
from tests.tg_emulator import EmuMessage, SimUser, TelegramEmulator


async def say(tg: TelegramEmulator, user: SimUser, text: str) -> EmuMessage:
    """Send ``text`` and wait for the fake model's echo of it."""
    await user.send(text)
    return await tg.wait_for_message(user.id, lambda m: m.text == f"echo: {text}")


def button(message: EmuMessage, contains: str) -> str:
    for b in message.buttons:
        if contains in b["text"]:
            return str(b["text"])
    raise AssertionError(f"no button with {contains!r}: {message.button_texts}")


async def open_chats(tg: TelegramEmulator, user: SimUser) -> EmuMessage:
    await user.send("/chats")
    return await tg.wait_for_message(user.id, lambda m: "Your conversations here" in m.text)


def system_prompt(running: Running) -> str:
    """The persona's prompt the last call began with (without the note on citing sources
    that calls offering tools add)."""
    first = running.fake_llm.chat_requests[-1].messages[0]
    assert first["role"] == "system"
    return str(first["content"]).removesuffix(TOOLS_PROMPT)


async def wait_title(running: Running, conversation_id: str, expected: str) -> str | None:
    """The conversation's title once it is ``expected`` (titling runs after the answer is
    delivered, so seeing the answer does not mean it is titled yet), else the last seen."""
    title = None
    for _ in range(100):
        await running.app.chat_service.titles.drain()
        got = await running.storage.conversations.get(conversation_id)
        title = got.title if got else None
        if title == expected:
            break
        await running.tg.wait_quiet(0.05)
    return title


def contents(running: Running) -> list[str]:
    return [str(m["content"]) for m in running.fake_llm.chat_requests[-1].messages]


async def test_two_conversations_switch_back_with_context_and_persona(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    coder = PersonaService(running.storage).builtin("coder")
    await friend.send("/persona")
    menu = await tg.wait_for_message(friend.id, lambda m: "Persona of this conversation" in m.text)
    await friend.press(menu, button(menu, "Coder"))
    await tg.wait_until(lambda: "Persona set: Coder" in menu.text)
    await say(tg, friend, "my project is Zephyr")
    assert system_prompt(running) == coder.prompt

    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await say(tg, friend, "the weather is nice")
    assert system_prompt(running) == PersonaService(running.storage).builtin("assistant").prompt
    assert "my project is Zephyr" not in contents(running)

    menu = await open_chats(tg, friend)
    assert "2 (page 1 of 1)" in menu.text
    assert "✅ 1. the weather is nice" in menu.button_texts  # newest first, active marked
    assert "Coder" in menu.text and "openai/fake-model" in menu.text
    await friend.press(menu, button(menu, "my project is Zephyr"))
    await tg.wait_until(lambda: "Started" in menu.text)
    assert "Persona: Coder" in menu.text and "Messages: 2" in menu.text
    await friend.press(menu, "▶️ Open")
    await tg.wait_until(lambda: "is the active conversation now" in menu.text)

    await say(tg, friend, "what is my project?")
    assert system_prompt(running) == coder.prompt  # its own persona came back with it
    assert "my project is Zephyr" in contents(running)
    assert "echo: my project is Zephyr" in contents(running)
    assert "the weather is nice" not in contents(running)


async def test_rename_export_delete_and_a_stale_button(running: Running) -> None:
    tg, storage = running.tg, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    await say(tg, friend, "alpha question")
    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await say(tg, friend, "beta question")
    alpha = (await storage.conversations.list_page(FRIEND_ID, FRIEND_ID))[1]

    menu = await open_chats(tg, friend)
    stale_data = next(b["callback_data"] for b in menu.buttons if "alpha" in b["text"])
    await friend.press(menu, button(menu, "alpha question"))
    await tg.wait_until(lambda: "Started" in menu.text)
    await friend.press(menu, "✏️ Rename")
    await tg.wait_until(lambda: "Send the new title" in menu.text)
    await friend.send("Project Alpha")
    renamed = await tg.wait_for_message(friend.id, lambda m: "Renamed to «Project Alpha»" in m.text)
    got = await storage.conversations.get(alpha.id)
    assert got is not None and got.title == "Project Alpha"

    # Export: a Markdown and a JSON document with the roles, models and times.
    await friend.press(renamed, "📤 Export")
    await tg.wait_until(lambda: len([m for m in friend.chat.messages if m.kind == "document"]) == 2)
    docs = {
        m.media["file_name"]: tg.file(m.media["file_id"]).data
        for m in friend.chat.messages
        if m.kind == "document"
    }  # type: ignore[index,call-overload]
    md_name = next(n for n in docs if n.endswith(".md"))
    json_name = next(n for n in docs if n.endswith(".json"))
    assert md_name.startswith("project-alpha-")
    markdown = docs[md_name].decode()
    assert markdown.startswith("# Project Alpha")
    assert "alpha question" in markdown and "echo: alpha question" in markdown
    assert "### User" in markdown and "### Assistant (openai/fake-model)" in markdown
    assert "beta question" not in markdown
    data = json.loads(docs[json_name])
    assert data["title"] == "Project Alpha" and data["parts"] == 1
    assert [(t["role"], t["content"], t["model"]) for t in data["turns"]] == [
        ("user", "alpha question", None),
        ("assistant", "echo: alpha question", "openai/fake-model"),
    ]
    assert all(t["created_at"].startswith("20") for t in data["turns"])

    # Delete, with confirmation.
    menu = await tg.wait_for_message(friend.id, lambda m: "Exported in 2 documents" in m.text)
    await friend.press(menu, "🗑 Delete")
    await tg.wait_until(lambda: "can't be undone" in menu.text)
    await friend.press(menu, "🗑 Yes, delete")
    await tg.wait_until(lambda: "Deleted «Project Alpha»" in menu.text)
    assert await storage.conversations.get(alpha.id) is None
    assert "1 (page 1 of 1)" in menu.text
    await storage.usage_sink.flush()
    assert await storage.usage.count() == 2  # usage records stay: they are accounting

    # The old list's button for the deleted conversation: answered, nothing opened.
    answer = await friend.send_callback(stale_data, menu)
    assert answer is not None and answer.text == "This conversation no longer exists."
    assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == 1


async def test_forged_callback_cannot_open_someone_elses_conversation(running: Running) -> None:
    tg, storage = running.tg, running.storage
    admin = tg.user(ADMIN_ID, "Ada")
    friend = tg.user(FRIEND_ID, "Fred")
    await say(tg, admin, "the secret plan is tulips")
    secret = await storage.conversations.active(ADMIN_ID, ADMIN_ID)
    await say(tg, friend, "hello")
    mine = await storage.conversations.active(FRIEND_ID, FRIEND_ID)

    menu = await open_chats(tg, friend)
    genuine = menu.buttons[0]["callback_data"]
    forged = genuine.replace(mine.id, secret.id)
    assert forged != genuine
    answer = await friend.send_callback(forged, menu)
    assert answer is not None and answer.text == "This conversation no longer exists."
    await tg.wait_quiet()
    assert "tulips" not in menu.text
    assert all("tulips" not in m.text for m in friend.chat.messages)
    assert (await storage.conversations.active(FRIEND_ID, FRIEND_ID)).id == mine.id
    await say(tg, friend, "what is the plan?")
    assert all("tulips" not in c for c in contents(running))


async def test_search_finds_words_in_titles_and_messages(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await say(tg, friend, "tell me about volcanoes")
    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await say(tg, friend, "recipes with lentils")
    menu = await open_chats(tg, friend)
    await friend.press(menu, "🔎 Search")
    await tg.wait_until(lambda: "words to look for" in menu.text)
    await friend.send("Volcanoes")
    found = await tg.wait_for_message(friend.id, lambda m: "Found for «Volcanoes»: 1" in m.text)
    assert any("tell me about volcanoes" in t for t in found.button_texts)
    assert not any("lentils" in t for t in found.button_texts)
    await friend.press(found, "✖ Clear search")
    await tg.wait_until(lambda: "Your conversations here: 2" in found.text)


async def test_export_is_split_below_the_document_limit(start_bot: StartBot) -> None:
    settings = ConversationSettings(auto_title=False, export_part_bytes=2000)
    async with start_bot(conversations=settings) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        texts = [f"answer {i}: " + "lorem ipsum " * 100 for i in range(4)]
        for i, text in enumerate(texts):
            fake.script(Reply(text=text))
            await friend.send(f"question {i}")
            await tg.wait_for_message(friend.id, lambda m, i=i: m.text.startswith(f"answer {i}"))
        menu = await open_chats(tg, friend)
        await friend.press(menu, button(menu, "question 0"))
        await tg.wait_until(lambda: "Started" in menu.text)
        await friend.press(menu, "📤 Export")
        await tg.wait_until(lambda: "Exported in" in menu.text)
        docs = [m for m in friend.chat.messages if m.kind == "document"]
        files = [(m.media["file_name"], tg.file(m.media["file_id"]).data) for m in docs]  # type: ignore[index,call-overload]
        md = [(n, d) for n, d in files if n.endswith(".md")]
        js = [(n, d) for n, d in files if n.endswith(".json")]
        assert len(md) > 1 and len(js) > 1
        assert all(len(d) <= 2000 for _n, d in files)
        assert md[0][0].endswith(f"-part1of{len(md)}.md")
        joined = "".join(d.decode() for _n, d in md)
        for text in texts:  # long answers are split into pieces, in order, none lost
            assert text[:900] in joined and text[-300:] in joined
        parts = [json.loads(d) for _n, d in js]
        assert [p["part"] for p in parts] == list(range(1, len(js) + 1))
        assert {p["parts"] for p in parts} == {len(js)}
        turns = [t for p in parts for t in p["turns"]]
        assert "".join(t["content"] for t in turns if t["role"] == "assistant") == "".join(texts)


async def test_per_user_cap_archives_and_keeps(start_bot: StartBot) -> None:
    settings = ConversationSettings(auto_title=False, max_per_user=2)
    async with start_bot(conversations=settings) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await say(tg, friend, "first one")
        for text in ("second one", "third one"):
            await friend.send("/new")
            reply = await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
            await say(tg, friend, text)
        assert "Archived to stay within 2 conversations: «first one»" in reply.text
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID, archived=True) == 1
        menu = await open_chats(tg, friend)
        assert "📦 Archived (1)" in menu.button_texts
        await friend.press(menu, "📦 Archived (1)")
        await tg.wait_until(lambda: "Archived conversations: 1" in menu.text)
        assert any("first one" in t for t in menu.button_texts)
        await friend.press(menu, button(menu, "first one"))
        await tg.wait_until(lambda: "📦 Archived." in menu.text)
        await friend.press(menu, "▶️ Open")
        await tg.wait_until(lambda: "is the active conversation now" in menu.text)
        await say(tg, friend, "back to the first")
        assert "first one" in contents(running)
        # reopening it pushed the oldest inactive one out instead: still two unarchived
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == 2


async def test_title_from_one_recorded_model_call(start_bot: StartBot) -> None:
    async with start_bot(conversations=ConversationSettings(auto_title=True)) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        fake.on("Write a title", Reply(text='"Zephyr release planning."'))
        friend = tg.user(FRIEND_ID, "Fred")
        await say(tg, friend, "help me plan the Zephyr release for next week please")
        conv = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        await tg.wait_until(
            lambda: len(fake.chat_requests) == 2 and not fake.chat_requests[-1].stream
        )

        # The title task exists once its request reached the fake (it is created before
        # the call): waiting for it to end, not for a while, is what makes this
        # deterministic (a fixed wait lost to a busy machine and saw the fallback title).
        await running.app.chat_service.titles.drain()
        got = await storage.conversations.get(conv.id)
        assert got is not None and got.title == "Zephyr release planning"
        await storage.usage_sink.flush()
        records = [r async for r in storage.usage.iter_records()]
        assert [r.user_id for r in records] == [FRIEND_ID, FRIEND_ID]  # recorded and charged
        assert fake.chat_requests[-1].json.get("max_tokens") == 30

        # A failing title call leaves the start of the first message as the title.
        fake.reset()
        fake.on("Write a title", Reply.server_error(500))
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        await say(tg, friend, "a second conversation about gardening in autumn")
        second = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        expected = "a second conversation about gardening in autumn"
        assert await wait_title(running, second.id, expected) == expected


async def test_model_changes_the_conversation_and_the_default(running: Running) -> None:
    tg, storage, fake = running.tg, running.storage, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await say(tg, friend, "first")
    first = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
    await friend.send("/model gpt-4.1")
    reply = await tg.wait_for_message(friend.id, lambda m: "Model set to gpt-4.1" in m.text)
    assert "This conversation now uses it, and new conversations will start with it." in reply.text
    got = await storage.conversations.get(first.id)
    assert got is not None and got.model == "gpt-4.1"
    record = await storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4.1"
    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await say(tg, friend, "second")
    assert fake.chat_requests[-1].json["model"] == "gpt-4.1"
    # the first conversation keeps its model when the default moves on
    await friend.send("/model gpt-4o-mini")
    await tg.wait_for_message(friend.id, lambda m: "Model set to gpt-4o-mini" in m.text)
    await storage.conversations.activate(first.id)
    await say(tg, friend, "third")
    assert fake.chat_requests[-1].json["model"] == "gpt-4.1"


async def test_a_conversation_keeps_the_model_it_started_with(running: Running) -> None:
    """A user who never picked a model: their first conversation keeps the bot's default
    after /model picks another one in a later conversation."""
    tg, storage, fake = running.tg, running.storage, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await say(tg, friend, "first")
    started_with = fake.chat_requests[-1].json["model"]
    first = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await friend.send("/model gpt-4.1")
    await tg.wait_for_message(friend.id, lambda m: "Model set to gpt-4.1" in m.text)
    await say(tg, friend, "second")
    assert fake.chat_requests[-1].json["model"] == "gpt-4.1"

    menu = await open_chats(tg, friend)
    await friend.press(menu, button(menu, "first"))
    await tg.wait_until(lambda: "Started" in menu.text)
    await friend.press(menu, "▶️ Open")
    await tg.wait_until(lambda: "is the active conversation now" in menu.text)
    await say(tg, friend, "third")
    assert fake.chat_requests[-1].json["model"] == started_with != "gpt-4.1"
    got = await storage.conversations.get(first.id)
    assert got is not None and got.model == FAKE_MODEL  # stored when it was created


async def test_repeated_new_on_an_empty_conversation_piles_up_nothing(
    start_bot: StartBot,
) -> None:
    settings = ConversationSettings(auto_title=False, max_per_user=2)
    async with start_bot(conversations=settings) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await say(tg, friend, "the real one")
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        for _ in range(3):
            await friend.send("/new")
            await tg.wait_for_message(
                friend.id, lambda m: m.text == "🆕 New conversation started. What's on your mind?"
            )
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == 2
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID, archived=True) == 0


async def test_the_per_user_cap_holds_for_conversations_made_by_a_first_message(
    start_bot: StartBot,
) -> None:
    """A first message in another chat creates a conversation without /new: the cap still
    archives the oldest inactive one (kept, listed under Archived)."""
    settings = ConversationSettings(auto_title=False, max_per_user=2)
    async with start_bot(conversations=settings) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await say(tg, friend, "private one")
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        await say(tg, friend, "private two")
        group = tg.group(-4001, "Team")
        await friend.send_in(group, "group one", mention_bot=True)
        await tg.wait_for_message(group.id, lambda m: m.from_bot and "group one" in m.text)
        assert await storage.conversations.count(FRIEND_ID, FRIEND_ID, archived=True) == 1
        archived = await storage.conversations.list_page(FRIEND_ID, FRIEND_ID, archived=True)
        assert [c.title for c in archived] == ["private one"]


async def test_a_cut_off_or_stopped_first_answer_still_titles_the_conversation(
    start_bot: StartBot,
) -> None:
    """CONVERSATIONS_TITLE_MODEL names the model of the title call (a cheap one)."""
    settings = ConversationSettings(auto_title=True, title_model="gpt-4o-mini")
    async with start_bot(conversations=settings) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        fake.on("Write a title", Reply(text="Spring garden plan"))
        fake.script(Reply.broken_stream(after=3, text="The beginning of a long answer that breaks"))
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("plan my garden for spring")
        await tg.wait_for_message(friend.id, lambda m: "cut off" in m.text)
        conv = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert await wait_title(running, conv.id, "Spring garden plan") == "Spring garden plan"
        title_call = fake.chat_requests[-1]
        assert not title_call.stream and title_call.json["model"] == "gpt-4o-mini"
        assert "The beginnin" in str(title_call.messages[-1]["content"])

        # A stopped first answer, and the title call fails: the start of the first message
        # stays as the title (the fallback).
        fake.reset()
        fake.on("Write a title", Reply.server_error(500))
        full = " ".join(f"token{i}" for i in range(400))
        fake.script(Reply(text=full, chunk_size=6, chunk_delay=0.02))
        await friend.send("/new")
        await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
        await friend.send("a question about tomatoes")
        await tg.wait_until(lambda: any("token" in d.text for d in tg.drafts(FRIEND_ID)))
        await friend.send("/stop")
        await tg.wait_for_message(friend.id, lambda m: m.text.endswith("⏹ Stopped."))
        second = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        expected = "a question about tomatoes"
        assert await wait_title(running, second.id, expected) == expected
        assert any("Write a title" in str(r.messages[-1]["content"]) for r in fake.chat_requests)


async def test_search_pages_its_results_and_says_when_there_are_more(running: Running) -> None:
    tg, storage = running.tg, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    for i in range(SEARCH_LIMIT + 2):  # more matches than a search shows
        conv = await storage.conversations.start_new(FRIEND_ID, FRIEND_ID, title=f"chat {i}")
        await storage.conversations.append(
            conv.id,
            [Turn(role="user", content=f"about comets {i}"), Turn(role="assistant", content="ok")],
        )
    menu = await open_chats(tg, friend)
    await friend.press(menu, "🔎 Search")
    await tg.wait_until(lambda: "words to look for" in menu.text)
    await friend.send("comets")
    found = await tg.wait_for_message(
        friend.id, lambda m: f"Found for «comets»: {SEARCH_LIMIT}+." in m.text
    )
    assert any(f"chat {SEARCH_LIMIT + 1}" in t for t in found.button_texts)  # newest first
    assert "Older ›" in found.button_texts
    for _ in range(SEARCH_LIMIT // PAGE_SIZE - 1):
        first = found.button_texts[0]
        await friend.press(found, "Older ›")
        await tg.wait_until(lambda first=first: found.button_texts[0] != first)
    assert "Older ›" not in found.button_texts  # 30 shown, in pages of six
    assert found.button_texts[PAGE_SIZE - 1].endswith(" chat 2")  # the 30th newest
    await friend.press(found, "✖ Clear search")
    await tg.wait_until(lambda: "Your conversations here" in found.text)
    assert "(page 1 of" in found.text  # the list's own page, not the search's
