"""One authority per rule: roles, name bindings and who may be budgeted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from app.access import AccessAuthority
from app.storage import Storage, open_memory_storage
from llmdoor.access import AccessSettings, Role

BOSS_ID, IMPOSTOR_ID = 10, 66


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    s = open_memory_storage()
    yield s
    await s.close()


def authority(storage: Storage, **kw: object) -> AccessAuthority:
    return AccessAuthority(AccessSettings(**kw), storage)  # type: ignore[arg-type]


async def test_admin_username_is_bound_to_the_first_id_and_cannot_be_taken_over(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    auth = authority(storage, admins="@boss")
    boss = await storage.users.upsert_seen(BOSS_ID, "Boss")
    assert (await auth.caller_for(boss)).role is Role.ADMIN
    # The boss renames; another account takes the name.
    await storage.users.upsert_seen(BOSS_ID, "boss_new")
    impostor = await storage.users.upsert_seen(IMPOSTOR_ID, "boss")
    with caplog.at_level(logging.WARNING):
        assert (await auth.caller_for(impostor)).role is Role.STRANGER
    assert "bound to id 10" in caplog.text
    assert not await auth.is_admin(IMPOSTOR_ID, "boss")
    # The binding is stored: a fresh authority (a restart, another instance) agrees.
    fresh = authority(storage, admins="@boss")
    assert await fresh.role(IMPOSTOR_ID, "boss") is Role.STRANGER
    assert await fresh.role(BOSS_ID, "boss") is Role.ADMIN
    assert await fresh.admin_chat_ids() == [BOSS_ID]
    assert await fresh.bound_usernames() == {"boss": BOSS_ID}


async def test_friend_username_binding_and_budgetable_users(storage: Storage) -> None:
    auth = authority(storage, admins="1", friends="2,@pal")
    pal = await storage.users.upsert_seen(5, "Pal")
    assert (await auth.caller_for(pal)).role is Role.FRIEND
    other = await storage.users.upsert_seen(6, "pal")
    assert (await auth.caller_for(other)).role is Role.STRANGER
    await storage.users.set_approved(9, True)
    ids = [uid for uid, _ in await auth.budgetable_users()]
    assert ids == [2, 5, 9]  # friends by id and bound name, approved users; admins never


async def test_default_budget_applies_to_everyone_but_admins(storage: Storage) -> None:
    auth = authority(storage, admins="1", friends="2", default_daily_budget_usd=0.5)
    admin = await auth.caller_for(await storage.users.upsert_seen(1))
    friend = await auth.caller_for(await storage.users.upsert_seen(2))
    assert admin.daily_budget_usd is None
    assert friend.daily_budget_usd == 0.5
    await storage.users.set_budget(2, 3.0)  # a per-user value set in /access overrides it
    friend = await auth.caller_for(await storage.users.upsert_seen(2))
    assert friend.daily_budget_usd == 3.0


def test_default_budget_setting_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_DEFAULT_DAILY_BUDGET_USD", "")
    assert AccessSettings().default_daily_budget_usd is None
    monkeypatch.setenv("ACCESS_DEFAULT_DAILY_BUDGET_USD", "1.25")
    assert AccessSettings().default_daily_budget_usd == 1.25


async def test_expired_menu_handler_asks_the_same_authority(storage: Storage) -> None:
    """dialogs/errors.py re-derives no role: it asks the authority, so it agrees with it."""
    from aiogram.types import User

    from app.bot.dialogs.errors import _role

    auth = authority(storage, admins="@boss")
    await storage.users.upsert_seen(BOSS_ID, "boss")
    assert await auth.role(BOSS_ID, "boss") is Role.ADMIN
    data = {"authority": auth}
    impostor = User(id=IMPOSTOR_ID, is_bot=False, first_name="I", username="boss")
    boss = User(id=BOSS_ID, is_bot=False, first_name="B", username="boss")
    assert await _role(data, impostor) is Role.STRANGER
    assert await _role(data, boss) is Role.ADMIN
