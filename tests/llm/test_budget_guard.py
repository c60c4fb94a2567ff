"""Money is reserved before it is spent and settled once after (issue 11, the llmdoor half)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import litellm
import pytest

from llmdoor import (
    AccessPolicy,
    AccessSettings,
    AuthError,
    BudgetExceeded,
    InMemoryUsageSink,
    LLMProvider,
    ProviderUnavailable,
    StreamInterrupted,
    StructuredOutputError,
)
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.llm.conftest import FAKE_MODEL, PRICED_MODEL, CountingGuard

FRIEND, ADMIN = 5, 1


def price(prompt_tokens: int, completion_tokens: int) -> float:
    """gpt-4o-mini in litellm's bundled map: $0.15 / $0.60 per million tokens."""
    return prompt_tokens * 0.15e-6 + completion_tokens * 0.6e-6


def prompt_tokens_of(text: str) -> int:
    return int(
        litellm.token_counter(model=PRICED_MODEL, messages=[{"role": "user", "content": text}])
    )


@pytest.fixture
def budgeted(make_provider: Callable[..., LLMProvider], guard: CountingGuard) -> LLMProvider:
    access = AccessPolicy(AccessSettings(admins=str(ADMIN), friends=str(FRIEND)))
    return make_provider(access=access, budget=guard)


async def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_budget_refusal_never_reaches_the_vendor(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    guard = CountingGuard(limit=1e-9)  # less than any priced call
    provider = make_provider(access=AccessPolicy(AccessSettings(friends=str(FRIEND))), budget=guard)
    with pytest.raises(BudgetExceeded):
        await provider.aquery_llm("spend", PRICED_MODEL, user_id=FRIEND)
    with pytest.raises(BudgetExceeded):
        _ = [c async for c in provider.aquery_llm_stream("spend", PRICED_MODEL, user_id=FRIEND)]
    with pytest.raises(BudgetExceeded):
        provider.query_llm("spend", PRICED_MODEL, user_id=FRIEND)
    assert fake.chat_requests == []  # the vendor never saw a request
    assert sink.events == [] and guard.holds == []


async def test_reservation_uses_prompt_plus_max_tokens(
    budgeted: LLMProvider, guard: CountingGuard, settings
) -> None:
    prompt = "how much will this cost me today, roughly?"
    await budgeted.aquery_llm(prompt, PRICED_MODEL, user_id=FRIEND, max_tokens=100)
    expected = price(prompt_tokens_of(prompt), 100)
    assert guard.holds[0].reserved == pytest.approx(expected)
    # An admin without max_tokens: the output is sized as LLM_USER_MAX_TOKENS.
    await budgeted.aquery_llm(prompt, PRICED_MODEL, user_id=ADMIN)
    expected = price(prompt_tokens_of(prompt), settings.user_max_tokens)
    assert guard.holds[1].reserved == pytest.approx(expected)
    # A model without a price: nothing to estimate.
    await budgeted.aquery_llm(prompt, FAKE_MODEL, user_id=FRIEND)
    assert guard.holds[2].reserved is None
    assert [h.caller.user_id for h in guard.holds] == [FRIEND, ADMIN, FRIEND]


async def test_non_admin_max_tokens_cap_is_sent(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, settings
) -> None:
    capped = settings.model_copy(update={"user_max_tokens": 64})
    access = AccessPolicy(AccessSettings(admins=str(ADMIN), friends=str(FRIEND)))
    provider = make_provider(settings=capped, access=access)
    await provider.aquery_llm("a", user_id=FRIEND)
    await provider.aquery_llm("b", user_id=FRIEND, max_tokens=1000)
    await provider.aquery_llm("c", user_id=FRIEND, max_tokens=10)
    await provider.aquery_llm("d", user_id=FRIEND, litellm_kwargs={"max_tokens": 9999})
    _ = [c async for c in provider.aquery_llm_stream("e", user_id=FRIEND)]
    await provider.aquery_llm("f", user_id=ADMIN)
    await provider.aquery_llm("g", user_id=ADMIN, max_tokens=1000)
    sent = [r.json.get("max_tokens") for r in fake.chat_requests]
    assert sent == [64, 64, 10, 64, 64, None, 1000]


async def test_ok_call_settles_the_real_cost_once(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    fake.script(
        Reply(text="ok", prompt_tokens=1000, completion_tokens=500),
        Reply(text="ok", prompt_tokens=1000, completion_tokens=500),
    )
    await budgeted.aquery_llm("price me", PRICED_MODEL, user_id=FRIEND)
    _ = [c async for c in budgeted.aquery_llm_stream("price me", PRICED_MODEL, user_id=FRIEND)]
    assert guard.settlements == [[pytest.approx(price(1000, 500))]] * 2
    assert [(e.cost_usd, e.cost_estimated) for e in sink.events] == [
        (pytest.approx(price(1000, 500)), False)
    ] * 2
    assert guard.reserved == pytest.approx(0.0)


async def test_broken_stream_is_charged_by_estimate(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    received = "the beginning of a long answer that "
    fake.script(Reply.broken_stream(after=3, text=received + "never ends", chunk_size=12))
    with pytest.raises(StreamInterrupted) as info:
        _ = [c async for c in budgeted.aquery_llm_stream("break", PRICED_MODEL, user_id=FRIEND)]
    assert info.value.partial_text == received
    (event,) = sink.events
    assert event.outcome == "partial" and event.cost_estimated
    assert event.prompt_tokens == prompt_tokens_of("break")
    assert event.completion_tokens == litellm.token_counter(model=PRICED_MODEL, text=received)
    assert event.cost_usd == pytest.approx(price(event.prompt_tokens, event.completion_tokens))
    assert event.cost_usd > 0
    assert guard.settlements == [[event.cost_usd]]


async def test_stream_without_usage_is_charged_by_estimate(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply(text="an answer without a usage chunk", send_usage=False))
    text = "".join([c async for c in budgeted.aquery_llm_stream("go", PRICED_MODEL, user_id=5)])
    assert text == "an answer without a usage chunk"
    (event,) = sink.events
    assert event.outcome == "ok" and event.cost_estimated
    assert event.prompt_tokens == prompt_tokens_of("go")
    assert event.completion_tokens == litellm.token_counter(model=PRICED_MODEL, text=text)
    assert event.cost_usd == pytest.approx(price(event.prompt_tokens, event.completion_tokens))
    assert guard.settlements == [[event.cost_usd]]


async def test_failure_before_any_token_settles_zero(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    fake.on("auth", Reply.unauthorized())
    fake.on("down", Reply.server_error())
    with pytest.raises(AuthError):
        await budgeted.aquery_llm("auth", PRICED_MODEL, user_id=FRIEND)
    with pytest.raises(ProviderUnavailable):  # retries given up
        await budgeted.aquery_llm("down", PRICED_MODEL, user_id=FRIEND)
    with pytest.raises(ProviderUnavailable):
        _ = [c async for c in budgeted.aquery_llm_stream("down", PRICED_MODEL, user_id=FRIEND)]
    assert guard.settlements == [[0.0]] * 3
    assert [e.attempts for e in sink.events] == [1, 3, 3]
    assert all(h.reserved and h.reserved > 0 for h in guard.holds)


async def test_structured_error_settles_the_spent_tokens(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard
) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    fake.script(Reply(text="not json", prompt_tokens=100, completion_tokens=10))
    with pytest.raises(StructuredOutputError):
        await budgeted.aquery_llm_structured("x", Answer, PRICED_MODEL, user_id=FRIEND)
    assert guard.settlements == [[pytest.approx(price(100, 10))]]


async def test_hold_settled_once_on_cancel(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    # A plain call cancelled while the vendor works on it: the prompt may be billed.
    fake.script(Reply.slow(30))
    task = asyncio.create_task(budgeted.aquery_llm("slow", PRICED_MODEL, user_id=FRIEND))
    await wait_for(lambda: len(fake.chat_requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: bool(sink.events))
    expected = price(prompt_tokens_of("slow"), 0)
    assert guard.settlements == [[pytest.approx(expected)]]
    assert (sink.events[0].error_kind, sink.events[0].cost_estimated) == ("cancelled", True)

    # A stream cancelled before its first token.
    fake.script(Reply.slow(30))

    async def consume() -> None:
        async for _ in budgeted.aquery_llm_stream("slow", PRICED_MODEL, user_id=FRIEND):
            pass

    task = asyncio.create_task(consume())
    await wait_for(lambda: len(fake.chat_requests) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: len(sink.events) == 2)

    # A consumer that stops reading after the first chunk.
    fake.script(Reply(text="x" * 100, chunk_size=10))
    stream = budgeted.aquery_llm_stream("long", PRICED_MODEL, user_id=FRIEND)
    assert await anext(stream) == "x" * 10
    await stream.aclose()
    await stream.aclose()  # a second close changes nothing
    assert len(guard.settlements) == 3
    assert all(len(settled) == 1 for settled in guard.settlements)
    assert all(settled[0] and settled[0] > 0 for settled in guard.settlements)
    partial = sink.events[2]
    assert (partial.outcome, partial.error_kind, partial.cost_estimated) == (
        "partial",
        "cancelled",
        True,
    )
    assert partial.completion_tokens == litellm.token_counter(model=PRICED_MODEL, text="x" * 10)
    assert guard.reserved == pytest.approx(0.0)


async def test_a_stream_stopped_before_its_first_token_is_partial(
    budgeted: LLMProvider, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    # A user's stop while the model has not written anything yet: the prompt was sent,
    # so the call is partial with the prompt charged by estimate, never an error.
    fake.script(Reply.slow(30))
    events = budgeted.aquery_llm_events("think first", PRICED_MODEL, user_id=FRIEND)

    async def consume() -> None:
        async for _ in events:
            pass

    task = asyncio.create_task(consume())
    await wait_for(lambda: len(fake.chat_requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await events.aclose()
    await wait_for(lambda: len(sink.events) == 1)
    event = sink.events[0]
    assert (event.outcome, event.error_kind, event.cost_estimated) == (
        "partial",
        "cancelled",
        True,
    )
    assert event.prompt_tokens == prompt_tokens_of("think first")
    assert event.completion_tokens == 0
    assert event.cost_usd == pytest.approx(price(event.prompt_tokens, 0))
    assert guard.settlements == [[pytest.approx(event.cost_usd)]]


def test_sync_twins_reserve_and_settle(budgeted: LLMProvider, guard: CountingGuard) -> None:
    assert budgeted.query_llm("one", PRICED_MODEL, user_id=FRIEND) == "echo: one"
    assert "".join(budgeted.query_llm_stream("two", PRICED_MODEL, user_id=FRIEND)) == "echo: two"
    for chunk in budgeted.query_llm_stream("three four five six", PRICED_MODEL, user_id=FRIEND):
        assert chunk
        break
    assert len(guard.holds) == 3
    assert all(len(s) == 1 and s[0] and s[0] > 0 for s in guard.settlements)


async def test_settle_failure_never_breaks_the_answer(
    make_provider: Callable[..., LLMProvider], caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenHold:
        async def settle(self, cost_usd: float | None) -> None:
            raise RuntimeError("ledger down")

    class Guard:
        async def reserve(self, caller: object, estimate_usd: float | None) -> BrokenHold:
            return BrokenHold()

    provider = make_provider(budget=Guard())
    assert await provider.aquery_llm("still works") == "echo: still works"
    assert [c async for c in provider.aquery_llm_stream("me too")] != []
    assert "budget settle failed" in caplog.text
