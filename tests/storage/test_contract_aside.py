"""Contract: a conversation opened aside (a scheduled prompt's own) leaves the active one
active, takes turns like any other, and is listed among the key's inactive ones."""

from __future__ import annotations

from app.storage import Storage, Turn


async def test_an_aside_conversation_is_not_made_active(storage: Storage) -> None:
    repo = storage.conversations
    chat = await repo.active(1, 1)
    await repo.append(chat.id, [Turn(role="user", content="my chat")])
    aside = await repo.add_aside(1, 1, model="m", persona="p", title="🔁 news")
    assert not aside.active and aside.id != chat.id
    assert (aside.model, aside.persona, aside.title) == ("m", "p", "🔁 news")
    await repo.append(aside.id, [Turn(role="user", content="news?")])
    assert (await repo.active(1, 1)).id == chat.id  # the user's chat goes on there
    got = await repo.get(aside.id)
    assert got is not None and [t.content for t in got.turns] == ["news?"]
    listed = await repo.list_page(1, 1)
    assert {c.id for c in listed} == {chat.id, aside.id}
    # Made active later (the user opens it from /chats), the chat before stays kept.
    assert (await repo.activate(aside.id)) is not None
    assert (await repo.active(1, 1)).id == aside.id
    assert await repo.get(chat.id) is not None


async def test_a_second_aside_conversation_of_one_key_is_its_own(storage: Storage) -> None:
    repo = storage.conversations
    first = await repo.add_aside(1, 1, title="a")
    second = await repo.add_aside(1, 1, title="b")
    assert first.id != second.id
    active = await repo.active(1, 1)  # a fresh active one: neither aside one
    assert active.id not in (first.id, second.id)
