"""ConversationRepository contract, part two (/chats, topics, search, the per-user cap,
replies to stored answers), and PersonaRepository: run on every backend."""

from __future__ import annotations

import asyncio

from app.storage import Storage, Turn
from app.storage.words import query_words


async def _conv_with(storage: Storage, user: int, chat: int, text: str, thread: int = 0) -> str:
    conv = await storage.conversations.start_new(user, chat, thread)
    await storage.conversations.append(
        conv.id, [Turn(role="user", content=text), Turn(role="assistant", content="ok")]
    )
    return conv.id


async def test_threads_are_separate_conversations(storage: Storage) -> None:
    convs = storage.conversations
    a = await convs.active(1, -100, 0)
    t1 = await convs.active(1, -100, 7, model="m1", persona="b:coder")
    t2 = await convs.active(1, -100, 8)
    assert len({a.id, t1.id, t2.id}) == 3
    assert (t1.thread_id, t1.model, t1.persona) == (7, "m1", "b:coder")
    # active() takes the creation defaults only when it creates
    again = await convs.active(1, -100, 7, model="other")
    assert again.id == t1.id and again.model == "m1"
    new = await convs.start_new(1, -100, 7, model="m2", title="fresh")
    assert new.thread_id == 7 and new.title == "fresh" and new.model == "m2"
    assert (await convs.active(1, -100, 8)).id == t2.id  # the other topic is untouched
    many = await asyncio.gather(*(convs.active(2, -100, 9) for _ in range(5)))
    assert len({c.id for c in many}) == 1


async def test_list_pages_newest_first_and_count(storage: Storage) -> None:
    convs = storage.conversations
    ids = [await _conv_with(storage, 3, 30, f"message {i}") for i in range(5)]
    await _conv_with(storage, 3, 31, "other chat")
    await _conv_with(storage, 4, 30, "other user")
    page1 = await convs.list_page(3, 30, offset=0, limit=2)
    page2 = await convs.list_page(3, 30, offset=2, limit=2)
    page3 = await convs.list_page(3, 30, offset=4, limit=2)
    assert [c.id for c in page1 + page2 + page3] == ids[::-1]
    assert await convs.count(3, 30) == 5
    assert page1[0].active and not page1[1].active
    # an older conversation written to moves to the top
    await asyncio.sleep(0.01)  # updated_at has millisecond precision
    await convs.append(ids[0], [Turn(role="user", content="back again")])
    assert (await convs.list_page(3, 30, limit=1))[0].id == ids[0]


async def test_activate_switches_and_keeps_the_other(storage: Storage) -> None:
    convs = storage.conversations
    old = await _conv_with(storage, 5, 50, "first")
    new = await _conv_with(storage, 5, 50, "second")
    assert (await convs.active(5, 50)).id == new
    opened = await convs.activate(old)
    assert opened is not None and opened.active and opened.turns[0].content == "first"
    assert (await convs.active(5, 50)).id == old
    kept = await convs.get(new)
    assert kept is not None and not kept.active
    assert await convs.activate("0" * 24) is None


async def test_rename_title_model_persona(storage: Storage) -> None:
    convs = storage.conversations
    cid = await _conv_with(storage, 6, 60, "hello")
    assert await convs.replace_title(cid, None, "Auto title")
    assert not await convs.replace_title(cid, None, "second auto")  # already set
    assert await convs.rename(cid, "My name")
    assert not await convs.replace_title(cid, "Auto title", "late auto")  # rename wins
    assert await convs.set_model(cid, "gpt-x")
    assert await convs.set_persona(cid, "b:translator")
    got = await convs.get(cid)
    assert got is not None and (got.title, got.model, got.persona) == (
        "My name",
        "gpt-x",
        "b:translator",
    )
    assert not await convs.rename("0" * 24, "x")
    assert not await convs.set_model("bogus", "x")


async def test_search_titles_and_messages_same_on_every_backend(storage: Storage) -> None:
    convs = storage.conversations
    paris = await _conv_with(storage, 7, 70, "What is the capital of France? Paris!")
    berlin = await _conv_with(storage, 7, 70, "Tell me about Berlin in winter")
    await convs.rename(berlin, "Travel plans")
    ru = await _conv_with(storage, 7, 70, "Ёжик в тумане")
    await _conv_with(storage, 8, 70, "Paris for someone else")

    async def hits(q: str) -> list[str]:
        return [c.id for c in await convs.search(7, 70, 0, query_words(q))]

    assert await hits("paris") == [paris]
    assert await hits("PARIS capital") == [paris]
    assert await hits("travel berlin") == [berlin]  # one word in the title, one in a message
    assert await hits("ежик") == [ru]  # ё and е are one letter
    assert await hits("paris berlin") == []
    assert await hits("ok") == [ru, berlin, paris]  # newest first
    assert await hits("") == []
    await convs.rename(berlin, "Holidays")
    assert await hits("travel") == []  # the old title is no longer searched
    # archived conversations are still found
    await convs.archive_overflow(7, keep=1)
    assert await hits("capital") == [paris]


async def test_delete_removes_conversation_and_turns(storage: Storage) -> None:
    convs = storage.conversations
    cid = await _conv_with(storage, 9, 90, "secret")
    assert await convs.delete(cid)
    assert await convs.get(cid) is None
    assert not await convs.delete(cid)
    assert await convs.search(9, 90, 0, ["secret"]) == []
    assert await convs.count(9, 90) == 0
    # the key gets a fresh active conversation afterwards
    fresh = await convs.active(9, 90)
    assert fresh.id != cid and fresh.turns == []


async def test_per_user_cap_archives_the_oldest_inactive(storage: Storage) -> None:
    convs = storage.conversations
    ids = [await _conv_with(storage, 11, 110 + (i % 2), f"c{i}") for i in range(5)]
    # chats 110 and 111 each have an active one: ids[4] (110) and ids[3] (111)
    archived = await convs.archive_overflow(11, keep=3)
    assert [c.id for c in archived] == [ids[0], ids[1]]
    assert all(c.archived for c in archived)
    assert await convs.archive_overflow(11, keep=3) == []
    assert await convs.count(11, 110) == 2 and await convs.count(11, 110, archived=True) == 1
    assert [c.id for c in await convs.list_page(11, 110, archived=True)] == [ids[0]]
    # the active ones are never archived, even over the cap
    assert [c.id for c in await convs.archive_overflow(11, keep=0)] == [ids[2]]
    assert (await convs.active(11, 110)).id == ids[4]
    # reopening an archived one unarchives it
    opened = await convs.activate(ids[0])
    assert opened is not None and not opened.archived and opened.active


async def test_find_by_message_and_last_assistant_updates(storage: Storage) -> None:
    convs = storage.conversations
    conv = await convs.active(12, 120)
    await convs.append(
        conv.id,
        [
            Turn(role="user", content="q1", message_ids=[10]),
            Turn(role="assistant", content="a1"),
        ],
    )
    assert await convs.set_message_ids(conv.id, [11, 12])
    await convs.append(
        conv.id,
        [
            Turn(role="user", content="q2", message_ids=[13]),
            Turn(role="assistant", content="a2", message_ids=[14]),
        ],
    )
    found = await convs.find_by_message(120, 12)
    assert found is not None and found[0].id == conv.id and found[1] == 1
    assert found[0].turns[1].content == "a1"
    assert (await convs.find_by_message(120, 10)) is not None
    assert await convs.find_by_message(121, 12) is None  # another chat
    assert await convs.find_by_message(120, 99) is None

    assert await convs.replace_last_assistant(
        conv.id, Turn(role="assistant", content="a2 again", model="m", message_ids=[15])
    )
    assert await convs.extend_last_assistant(conv.id, " and more", [16])
    got = await convs.get(conv.id)
    assert got is not None
    assert [t.content for t in got.turns] == ["q1", "a1", "q2", "a2 again and more"]
    assert got.turns[-1].message_ids == [15, 16] and got.turns[-1].model == "m"
    assert (await convs.find_by_message(120, 16)) is not None
    assert [c.id for c in await convs.search(12, 120, 0, ["more"])] == [conv.id]
    empty = await convs.start_new(12, 120)
    assert not await convs.replace_last_assistant(empty.id, Turn(role="assistant", content="x"))
    assert not await convs.extend_last_assistant(empty.id, "x")
    assert not await convs.set_message_ids(empty.id, [1])


async def test_replacing_an_answer_replaces_its_tool_turns(storage: Storage) -> None:
    convs = storage.conversations
    conv = await convs.active(13, 130)
    call = [{"id": "c1", "type": "function", "function": {"name": "web_search"}}]
    await convs.append(
        conv.id,
        [
            Turn(role="user", content="q1"),
            Turn(role="assistant", content="a1"),
            Turn(role="user", content="q2"),
            Turn(role="assistant", content="", tool_calls=call),
            Turn(role="tool", content="old result", tool_call_id="c1", name="web_search"),
            Turn(role="assistant", content="old answer"),
        ],
    )
    new_call = [{"id": "c2", "type": "function", "function": {"name": "read_url"}}]
    assert await convs.replace_last_assistant(
        conv.id,
        Turn(role="assistant", content="new answer", message_ids=[20]),
        [
            Turn(role="assistant", content="", tool_calls=new_call),
            Turn(role="tool", content="new result", tool_call_id="c2", name="read_url"),
        ],
    )
    got = await convs.get(conv.id)
    assert got is not None
    assert [(t.role, t.content) for t in got.turns] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", ""),
        ("tool", "new result"),
        ("assistant", "new answer"),
    ]
    assert got.turns[3].tool_calls == new_call and got.turns[4].tool_call_id == "c2"
    # Without tool turns the old ones go, and the earlier exchange stays as it was.
    assert await convs.replace_last_assistant(conv.id, Turn(role="assistant", content="plain"))
    got = await convs.get(conv.id)
    assert got is not None
    assert [t.content for t in got.turns] == ["q1", "a1", "q2", "plain"]


async def test_personas_are_per_owner(storage: Storage) -> None:
    personas = storage.personas
    a = await personas.create(1, "Pirate", "Talk like a pirate.")
    b = await personas.create(1, "Poet", "Answer in verse.")
    await personas.create(2, "Other", "x")
    assert [p.name for p in await personas.list_for(1)] == ["Pirate", "Poet"]
    assert await personas.count_for(1) == 2
    got = await personas.get(a.id)
    assert got is not None and (got.owner_id, got.prompt) == (1, "Talk like a pirate.")
    assert await personas.update(a.id, 2, name="stolen") is None  # not the owner's
    updated = await personas.update(a.id, 1, prompt="Arr.")
    assert updated is not None and (updated.name, updated.prompt) == ("Pirate", "Arr.")
    assert not await personas.delete(b.id, 2)
    assert await personas.delete(b.id, 1)
    assert await personas.get(b.id) is None
    assert await personas.get("bogus") is None
    assert await personas.chat_default(-5) is None
    await personas.set_chat_default(-5, "b:concise")
    assert await personas.chat_default(-5) == "b:concise"
    await personas.set_chat_default(-5, None)
    assert await personas.chat_default(-5) is None


async def test_service_cap_and_reuse_hold_on_every_backend(storage: Storage) -> None:
    """ConversationService over this backend: a conversation made by a first message in
    another chat archives the oldest inactive one; /new on an empty one reuses it."""
    from app.services.conversations.personas import PersonaService
    from app.services.conversations.service import ConversationKey, ConversationService

    convs = ConversationService(
        storage, PersonaService(storage), max_per_user=2, default_model="bot-m"
    )
    private = ConversationKey(21, 21)
    oldest = await convs.active(private, None)
    assert oldest.model == "bot-m"
    await storage.conversations.append(oldest.id, [Turn(role="user", content="a")])
    second = await convs.start_new(private, None)
    assert not second.reused
    again = await convs.start_new(private, "m2")
    assert again.reused and again.conversation.id == second.conversation.id
    assert await storage.conversations.count(21, 21) == 2
    await convs.active(ConversationKey(21, -210), None)  # a first message in a group
    archived = await storage.conversations.list_page(21, 21, archived=True)
    assert [c.id for c in archived] == [oldest.id]
