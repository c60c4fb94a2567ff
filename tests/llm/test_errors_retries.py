from __future__ import annotations

import time

import pytest

from llmdoor import (
    AuthError,
    BadRequest,
    ContextTooLong,
    InMemoryUsageSink,
    LLMProvider,
    LLMTimeout,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
)
from tests.fakes.openai_server import FakeOpenAI, Reply


@pytest.mark.parametrize(
    ("reply", "error", "kind", "requests"),
    [
        (Reply.unauthorized(), AuthError, "auth", 1),
        (Reply.context_too_long(), ContextTooLong, "context_too_long", 1),
        (Reply.error(400, "bad field", type="invalid_request_error"), BadRequest, "bad_request", 1),
        (Reply.server_error(500), ProviderUnavailable, "unavailable", 3),
        (Reply.server_error(503), ProviderUnavailable, "unavailable", 3),
        (Reply.rate_limited(retry_after=0), RateLimited, "rate_limit", 3),
    ],
)
async def test_error_mapping_and_retry_bound(
    provider: LLMProvider,
    fake: FakeOpenAI,
    sink: InMemoryUsageSink,
    reply: Reply,
    error: type[Exception],
    kind: str,
    requests: int,
) -> None:
    fake.on("fail", reply)
    with pytest.raises(error) as info:
        await provider.aquery_llm("please fail")
    assert info.value.kind == kind
    # max_retries=2: 429/5xx are tried three times in all, the rest once.
    assert len(fake.chat_requests) == requests
    (event,) = sink.events
    assert (event.outcome, event.error_kind, event.attempts) == ("error", kind, requests)


async def test_retry_recovers(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.rate_limited(retry_after=0), Reply.server_error())
    assert await provider.aquery_llm("eventually") == "echo: eventually"
    assert len(fake.chat_requests) == 3
    (event,) = sink.events
    assert (event.outcome, event.attempts) == ("ok", 3)


async def test_retry_after_is_honoured_and_reported(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    fake.script(Reply.rate_limited(retry_after=0.2))
    started = time.perf_counter()
    assert await provider.aquery_llm("wait") == "echo: wait"
    assert time.perf_counter() - started >= 0.2
    # Longer than retry_after_cap (1 s in tests): no point waiting, tell the caller.
    fake.on("wait", Reply.rate_limited(retry_after=30))
    with pytest.raises(RateLimited) as info:
        await provider.aquery_llm("wait")
    assert info.value.retry_after == 30
    assert len(fake.chat_requests) == 3


async def test_timeout(provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink) -> None:
    fake.script(Reply.slow(3))
    started = time.perf_counter()
    with pytest.raises(LLMTimeout):
        await provider.aquery_llm("slow", timeout=0.3)
    assert time.perf_counter() - started < 2.5
    assert sink.events[0].error_kind == "timeout"


def test_sync_errors_map_too(provider: LLMProvider, fake: FakeOpenAI) -> None:
    fake.script(Reply.unauthorized())
    with pytest.raises(AuthError):
        provider.query_llm("x")


async def test_connection_refused_is_unavailable(make_provider, settings) -> None:
    dead = settings.model_copy(update={"api_base": "http://127.0.0.1:9/v1"})
    with pytest.raises(ProviderUnavailable):
        await make_provider(settings=dead).aquery_llm("anyone?")


async def test_secrets_never_in_error_messages(
    provider: LLMProvider, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "live-key-value-0123456789")
    fake.script(
        Reply.unauthorized("Incorrect API key provided: sk-test and live-key-value-0123456789")
    )
    with pytest.raises(AuthError) as info:
        await provider.aquery_llm("x")
    message = str(info.value)
    assert "sk-test" not in message and "live-key-value-0123456789" not in message
    assert info.value.__cause__ is None  # the litellm exception (with its request) is dropped


async def test_stream_retries_before_first_token(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.server_error(), Reply.rate_limited(retry_after=0))
    assert "".join([c async for c in provider.aquery_llm_stream("hello")]) == "echo: hello"
    assert len(fake.chat_requests) == 3
    assert sink.events[0].outcome == "ok" and sink.events[0].attempts == 3


async def test_stream_error_before_first_token_is_typed(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.on("x", Reply.unauthorized())
    with pytest.raises(AuthError):
        _ = [c async for c in provider.aquery_llm_stream("x")]
    assert (sink.events[0].outcome, sink.events[0].error_kind) == ("error", "auth")


async def test_broken_stream_is_partial_and_not_retried(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.broken_stream(after=3, text="abcdefghijklmnopqrstuvwxyz", chunk_size=4))
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for chunk in provider.aquery_llm_stream("break", user_id=5):
            received.append(chunk)
    assert received == ["abcd", "efgh", "ijkl"]
    assert info.value.partial_text == "abcdefghijkl"
    assert len(fake.chat_requests) == 1  # text was already shown: no retry
    (event,) = sink.events
    assert event.outcome == "partial" and event.streamed and event.ttft_ms is not None
    assert event.user_id == 5 and event.error_kind == "interrupted"


def test_broken_stream_sync(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.broken_stream(after=1, text="abcdefgh", chunk_size=4))
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        for chunk in provider.query_llm_stream("break"):
            received.append(chunk)
    assert received == ["abcd"] and info.value.partial_text == "abcd"
    assert sink.events[0].outcome == "partial"
