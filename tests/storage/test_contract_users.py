"""UserRepository contract, run on every backend."""

from __future__ import annotations

import asyncio

import pytest

from app.storage import Storage


async def test_get_unknown_user_is_none(storage: Storage) -> None:
    assert await storage.users.get(404) is None
    assert await storage.users.is_approved(404) is False


async def test_upsert_seen_creates_then_refreshes_profile_only(storage: Storage) -> None:
    users = storage.users
    first = await users.upsert_seen(1, "Alice", "Alice", "Liddell", "en")
    assert (first.user_id, first.username, first.full_name) == (1, "Alice", "Alice Liddell")
    assert first.approved is False and first.model is None and first.daily_budget_usd is None
    assert first.first_seen == first.last_seen

    await users.set_approved(1, True)
    await users.set_model(1, "claude-sonnet")
    await users.set_budget(1, 2.5)
    await users.set_language(1, "ru")

    again = await users.upsert_seen(1, "alice2", "Alicia", None, "de")
    assert again.username == "alice2" and again.first_name == "Alicia"
    assert again.last_name is None and again.language_code == "de"
    # What the user or an admin chose survives a profile refresh.
    assert again.approved is True and again.model == "claude-sonnet"
    assert again.daily_budget_usd == 2.5 and again.language == "ru"
    assert again.first_seen == first.first_seen and again.last_seen >= first.last_seen
    assert await users.get(1) == again


async def test_setters_create_unknown_users(storage: Storage) -> None:
    users = storage.users
    rec = await users.set_approved(7, True)
    assert rec.user_id == 7 and rec.approved and rec.username is None
    assert (await users.set_model(8, "gpt")).model == "gpt"
    assert (await users.set_budget(9, 0.75)).daily_budget_usd == 0.75
    assert (await users.set_language(10, "en")).language == "en"
    assert (await users.set_budget(9, None)).daily_budget_usd is None
    assert (await users.get(8)) is not None
    assert await users.is_approved(8) is False


async def test_approval_and_listing(storage: Storage) -> None:
    users = storage.users
    for uid in (30, 10, 20):
        await users.upsert_seen(uid, f"user{uid}")
        await users.set_approved(uid, True)
    await users.set_approved(20, False)
    assert await users.is_approved(10) and not await users.is_approved(20)
    assert [u.user_id for u in await users.list_approved()] == [10, 30]


async def test_find_by_username_is_case_insensitive(storage: Storage) -> None:
    users = storage.users
    await users.upsert_seen(5, "MixedCase")
    await users.upsert_seen(6, None)
    found = await users.find_by_username("@mixedcase")
    assert found is not None and found.user_id == 5
    assert await users.find_by_username("MIXEDCASE") == found
    assert await users.find_by_username("nobody") is None
    assert await users.find_by_username("@") is None
    # A renamed user is found by the new name only.
    await users.upsert_seen(5, "Renamed")
    assert await users.find_by_username("mixedcase") is None
    assert (await users.find_by_username("renamed")) is not None


async def test_a_username_belongs_to_whoever_was_seen_with_it_last(storage: Storage) -> None:
    users = storage.users
    await users.upsert_seen(5, "boss")  # user 5 once was @boss, then renamed...
    await asyncio.sleep(0.01)  # timestamps have millisecond resolution
    await users.upsert_seen(9, "Boss")  # ...and user 9 has the name now
    found = await users.find_by_username("@BOSS")
    assert found is not None and found.user_id == 9
    await asyncio.sleep(0.01)
    await users.upsert_seen(5, "boss")  # seen again with it: the name moved back
    found = await users.find_by_username("boss")
    assert found is not None and found.user_id == 5


async def test_prefs_default_change_and_survive(storage: Storage) -> None:
    users = storage.users
    first = await users.upsert_seen(40, "pref")
    assert first.prefs.reasoning == "on"
    assert not first.prefs.usage_footer and not first.prefs.voice_replies
    changed = await users.set_prefs(40, usage_footer=True, reasoning="stream")
    assert changed.prefs.usage_footer and changed.prefs.reasoning == "stream"
    # Another switch keeps the ones set before; a profile refresh keeps them all.
    await users.set_prefs(40, voice_replies=True)
    again = await users.upsert_seen(40, "pref2")
    assert again.prefs.usage_footer and again.prefs.voice_replies
    assert again.prefs.reasoning == "stream"
    # Unknown users get a record; invalid values are refused before anything is stored.
    assert (await users.set_prefs(41, voice_replies=True)).prefs.voice_replies
    with pytest.raises(ValueError):
        await users.set_prefs(40, reasoning="loud")
    assert (await users.get(40)) == again
