"""Contract: personal memory facts (app.storage.facts) on both backends."""

from __future__ import annotations

from app.storage import Storage
from app.storage.facts import context_order


async def test_facts_are_added_listed_newest_first_and_capped(storage: Storage) -> None:
    facts = storage.facts
    first = await facts.add(1, "my name is Fred", source="user", max_facts=3)
    second = await facts.add(1, "I live in Oslo", source="model", max_facts=3)
    assert first is not None and second is not None
    again = await facts.add(1, "my name is Fred", source="user", max_facts=3)
    assert again is not None and again.id == first.id  # the same text is one fact
    await facts.add(1, "I like tea", source="user", max_facts=3)
    assert await facts.add(1, "one too many", source="user", max_facts=3) is None
    listed = await facts.list_for(1)
    assert [f.text for f in listed] == ["I like tea", "I live in Oslo", "my name is Fred"]
    assert listed[1].source == "model"
    assert [f.text for f in await facts.list_for(1, offset=1, limit=1)] == ["I live in Oslo"]
    assert await facts.count_for(1) == 3
    assert await facts.count_for(2) == 0  # another user's memory is apart


async def test_facts_are_forgotten_one_by_one_or_all_and_only_by_their_owner(
    storage: Storage,
) -> None:
    facts = storage.facts
    a = await facts.add(1, "a", source="user", max_facts=10)
    await facts.add(1, "b", source="user", max_facts=10)
    await facts.add(2, "other", source="user", max_facts=10)
    assert a is not None
    assert not await facts.delete(2, a.id)  # not theirs
    assert not await facts.delete(1, "not-an-id")
    assert await facts.delete(1, a.id)
    assert [f.text for f in await facts.list_for(1)] == ["b"]
    assert await facts.delete_all(1) == 1
    assert await facts.list_for(1) == []
    assert [f.text for f in await facts.list_for(2)] == ["other"]


async def test_used_facts_come_first_in_the_context(storage: Storage) -> None:
    facts = storage.facts
    old = await facts.add(1, "old but used", source="user", max_facts=10)
    await facts.add(1, "new", source="user", max_facts=10)
    assert old is not None
    await facts.mark_used(1, [old.id, "not-an-id"])
    await facts.mark_used(2, [old.id])  # another user's call touches nothing
    ordered = context_order(await facts.list_for(1))
    assert [f.text for f in ordered] == ["old but used", "new"]
    assert ordered[0].used == 1


async def test_forgetme_leaves_no_facts_conversations_or_personas(storage: Storage) -> None:
    from app.services.memory.erase import erase_user_data
    from app.storage import Turn

    for user in (1, 2):
        await storage.facts.add(user, f"fact of {user}", source="user", max_facts=10)
        conv = await storage.conversations.active(user, user)
        await storage.conversations.append(conv.id, [Turn(role="user", content="hi")])
        group = await storage.conversations.active(user, -100)
        await storage.conversations.append(group.id, [Turn(role="user", content="hey")])
        await storage.personas.create(user, "Pirate", "Talk like a pirate")
    erased = await erase_user_data(storage, 1)
    assert (erased.facts, erased.conversations, erased.personas) == (1, 2, 1)
    assert await storage.facts.list_for(1) == []
    assert await storage.conversations.count(1, 1) == 0
    assert await storage.conversations.count(1, -100) == 0
    assert await storage.personas.list_for(1) == []
    # Nobody else's data is touched.
    assert await storage.facts.count_for(2) == 1
    assert await storage.conversations.count(2, 2) == 1
    assert len(await storage.personas.list_for(2)) == 1
