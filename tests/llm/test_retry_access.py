"""The retry policy reads LLMError.retryable; a pre-resolved caller is not resolved again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llmdoor import (
    AccessDenied,
    AccessPolicy,
    AccessSettings,
    AuthError,
    Caller,
    InMemoryUsageSink,
    LLMProvider,
    LLMTimeout,
    ProviderUnavailable,
    Role,
)
from tests.fakes.openai_server import FakeOpenAI, Reply


def test_retry_flags_tell_the_truth() -> None:
    assert not LLMTimeout.retryable and not AuthError.retryable
    assert ProviderUnavailable.retryable


async def test_timeout_is_not_retried(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.slow(3), Reply.slow(3), Reply.slow(3))
    with pytest.raises(LLMTimeout):
        await provider.aquery_llm("slow", timeout=0.3)
    assert len(fake.chat_requests) == 1
    assert (sink.events[0].error_kind, sink.events[0].attempts) == ("timeout", 1)


async def test_retry_policy_reads_the_retryable_flag(
    provider: LLMProvider, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.on("auth", Reply.unauthorized())
    fake.on("down", Reply.server_error())
    monkeypatch.setattr(AuthError, "retryable", True)
    monkeypatch.setattr(ProviderUnavailable, "retryable", False)
    with pytest.raises(AuthError):
        await provider.aquery_llm("auth")
    assert len(fake.chat_requests) == 3  # max_retries=2
    with pytest.raises(ProviderUnavailable):
        _ = [c async for c in provider.aquery_llm_stream("down")]
    assert len(fake.chat_requests) == 4


class CountingResolver:
    """An access authority that counts its look-ups (each is a user read in the bot)."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy
        self.calls = 0

    async def resolve(self, user_id: int | None, username: str | None = None) -> Caller:
        self.calls += 1
        return await self.policy.resolve(user_id, username)

    def ensure_allowed(self, caller: Caller) -> None:
        self.policy.ensure_allowed(caller)


async def test_caller_skips_second_resolution(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI
) -> None:
    resolver = CountingResolver(AccessPolicy(AccessSettings(friends="5")))
    provider = make_provider(access=resolver)
    friend = await resolver.resolve(5)
    assert resolver.calls == 1
    assert await provider.aquery_llm("hi", caller=friend) == "echo: hi"
    assert [c async for c in provider.aquery_llm_stream("hi", caller=friend)] != []
    assert provider.query_llm("hi", caller=friend) == "echo: hi"
    assert resolver.calls == 1  # the bot's middleware resolved it; nobody does again
    assert await provider.aquery_llm("hi", user_id=5) == "echo: hi"
    assert resolver.calls == 2  # without a caller: one resolution per call

    # A stranger is refused by the same rule, resolved or not.
    stranger = Caller(user_id=666, role=Role.STRANGER)
    with pytest.raises(AccessDenied):
        await provider.aquery_llm("let me in", caller=stranger)
    with pytest.raises(AccessDenied):  # no user and no single-user mode
        await provider.aquery_llm("who?", caller=Caller(user_id=None, role=Role.ADMIN))
    assert len(fake.chat_requests) == 4


async def test_any_caller_resolver_is_an_access_authority(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI
) -> None:
    class OnlySeven:
        async def resolve(self, user_id: int | None, username: str | None = None) -> Caller:
            role = Role.FRIEND if user_id == 7 else Role.STRANGER
            return Caller(user_id=user_id, role=role, username=username)

    provider = make_provider(access=OnlySeven())
    assert await provider.aquery_llm("hi", user_id=7) == "echo: hi"
    with pytest.raises(AccessDenied):
        await provider.aquery_llm("hi", user_id=8)
    assert len(fake.chat_requests) == 1


async def test_without_access_rules_everyone_is_the_owner(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    await provider.aquery_llm("hi", user_id=3, max_tokens=100_000)
    assert fake.chat_requests[0].json["max_tokens"] == 100_000  # no cap: an admin's call
    assert sink.events[0].user_id == 3
