from __future__ import annotations

from datetime import UTC, datetime

import pytest

from llmdoor import (
    AccessDenied,
    AccessPolicy,
    AccessSettings,
    BudgetExceeded,
    BudgetHold,
    Caller,
    InMemoryUsageSink,
    Role,
    Unlimited,
)
from tests.fakes.openai_server import FakeOpenAI


def policy(**kwargs: object) -> AccessPolicy:
    return AccessPolicy(AccessSettings(**kwargs))  # type: ignore[arg-type]


def test_settings_parse_ids_and_usernames_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_ADMINS", "123, @Bob")
    monkeypatch.setenv("ACCESS_FRIENDS", "456,alice,@Carol")
    monkeypatch.setenv("ACCESS_ALLOW_EVERYONE", "false")
    settings = AccessSettings()
    assert settings.admin_ids == {123} and settings.admin_usernames == {"bob"}
    assert settings.friend_ids == {456} and settings.friend_usernames == {"alice", "carol"}
    assert settings.is_configured
    assert not AccessSettings(admins="", friends="", single_user_mode=False).is_configured


async def test_roles_by_id_and_username() -> None:
    p = policy(admins="1,@Admin", friends="2,@Pal")
    assert await p.role(1) is Role.ADMIN
    assert await p.role(99, "admin") is Role.ADMIN
    assert await p.role(99, "@ADMIN") is Role.ADMIN
    assert await p.role(2) is Role.FRIEND
    assert await p.role(98, "pal") is Role.FRIEND
    assert await p.role(98, "@pAl") is Role.FRIEND
    # The name is bound to the first id seen with it: another account gets nothing.
    assert await p.role(97, "@pAl") is Role.STRANGER
    assert await p.role(3, "stranger") is Role.STRANGER
    with pytest.raises(AccessDenied) as info:
        await p.check(3, "stranger")
    assert info.value.user_id == 3 and info.value.kind == "access_denied"


async def test_allow_everyone_and_approved_callback() -> None:
    assert await policy(allow_everyone=True).role(12345) is Role.FRIEND
    assert await policy(allow_everyone=True, admins="1").role(1) is Role.ADMIN

    async def approved(user_id: int) -> bool:
        return user_id == 77

    p = AccessPolicy(AccessSettings(admins="1"), is_approved=approved)
    assert await p.role(77) is Role.FRIEND
    assert await p.role(78) is Role.STRANGER


async def test_missing_user_id() -> None:
    assert await policy(single_user_mode=True).check(None) is Role.ADMIN
    with pytest.raises(AccessDenied, match="user_id"):
        await policy(admins="1").check(None)


async def test_stranger_never_reaches_the_model(
    make_provider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    provider = make_provider(access=policy(admins="1", friends="@friend"))
    with pytest.raises(AccessDenied):
        await provider.aquery_llm("let me in", user_id=666, username="intruder")
    with pytest.raises(AccessDenied):
        _ = [c async for c in provider.aquery_llm_stream("let me in", user_id=666)]
    with pytest.raises(AccessDenied):
        await provider.aquery_llm("no id")
    assert fake.chat_requests == []
    assert sink.events == []  # denied calls spend nothing and record nothing
    assert await provider.aquery_llm("hi", user_id=5, username="@Friend") == "echo: hi"
    assert await provider.aquery_llm("hi", user_id=1) == "echo: hi"


async def test_budget_refuses_before_the_model(
    make_provider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    resets = datetime(2030, 1, 1, tzinfo=UTC)

    class Guard:
        def __init__(self) -> None:
            self.asked: list[int | None] = []

        async def reserve(self, caller: Caller, estimate_usd: float | None) -> BudgetHold:
            self.asked.append(caller.user_id)
            if caller.user_id == 13:
                raise BudgetExceeded("daily budget spent", user_id=13, resets_at=resets)
            return await Unlimited().reserve(caller, estimate_usd)

    guard = Guard()
    provider = make_provider(access=policy(friends="13,14"), budget=guard)
    with pytest.raises(BudgetExceeded) as info:
        await provider.aquery_llm("spend", user_id=13)
    assert info.value.resets_at == resets
    assert fake.chat_requests == [] and sink.events == []
    assert await provider.aquery_llm("spend", user_id=14) == "echo: spend"
    assert guard.asked == [13, 14]
