"""The direct OpenAI SSE path (LLM_FAST_STREAM=auto) against litellm's (off): the same
request on the wire, the same events, usage, cost, typed errors, retries, reasoning, tool
calls and cancellation. Each scenario runs on both paths and the outcomes are compared."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llmdoor import (
    InMemoryUsageSink,
    LLMError,
    LLMProvider,
    LLMSettings,
    StreamFinished,
    StreamInterrupted,
)
from llmdoor.calls import fast_stream
from llmdoor.calls.fast_stream import FastStream, Route, route_for
from tests.fakes.openai_server import FakeOpenAI, Reply

PRICED = "openai/gpt-4o-mini"
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def provider_for(settings: LLMSettings, path: str, sink: InMemoryUsageSink) -> LLMProvider:
    return LLMProvider(settings.model_copy(update={"fast_stream": path}), usage_sink=sink)


def event_fields(sink: InMemoryUsageSink) -> list[tuple[Any, ...]]:
    """What a usage event says, without timings."""
    return [
        (
            e.model,
            e.prompt_tokens,
            e.completion_tokens,
            e.cost_usd,
            e.cost_estimated,
            e.outcome,
            e.error_kind,
            e.streamed,
            e.attempts,
            e.ttft_ms is not None,
        )
        for e in sink.events
    ]


async def run_events(provider: LLMProvider, prompt: str, **options: Any) -> dict[str, Any]:
    """A stream's events (or its error) as comparable plain data."""
    out: dict[str, Any] = {"events": []}
    try:
        async for event in provider.aquery_llm_events(prompt, **options):
            if isinstance(event, StreamFinished):
                out["finished"] = (
                    event.text,
                    event.reasoning,
                    event.finish_reason,
                    [(c.name, c.arguments) for c in event.tool_calls],
                )
            else:
                out["events"].append((type(event).__name__, *vars(event).values()))
    except LLMError as err:
        out["error"] = (
            type(err).__name__,
            err.kind,
            err.status_code,
            getattr(err, "retry_after", None),
        )
        if isinstance(err, StreamInterrupted):
            out["partial"] = err.partial_text
    return out


async def both_paths(
    fake: FakeOpenAI,
    settings: LLMSettings,
    replies: Callable[[], list[Reply]],
    prompt: str = "hello there",
    **options: Any,
) -> dict[str, tuple[dict[str, Any], list[tuple[Any, ...]], list[dict[str, Any]]]]:
    results = {}
    for path in ("off", "auto"):
        fake.reset()
        fake.script(*replies())
        sink = InMemoryUsageSink()
        out = await run_events(provider_for(settings, path, sink), prompt, **options)
        bodies = [r.json for r in fake.chat_requests]
        results[path] = (out, event_fields(sink), bodies)
    return results


def assert_same(results: dict[str, Any]) -> None:
    slow, fast = results["off"], results["auto"]
    assert fast[0] == slow[0]  # events, final result, error
    assert fast[1] == slow[1]  # usage events
    assert fast[2] == slow[2]  # what went on the wire


async def test_the_fast_path_is_taken_for_openai_compatible_streams(
    fake: FakeOpenAI, settings: LLMSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[Route] = []
    real = fast_stream.FastStreamTransport.open

    async def spy(self: Any, route: Route) -> FastStream:
        taken.append(route)
        return await real(self, route)

    monkeypatch.setattr(fast_stream.FastStreamTransport, "open", spy)
    sink = InMemoryUsageSink()
    text = [c async for c in provider_for(settings, "auto", sink).aquery_llm_stream("hi")]
    assert "".join(text) == "echo: hi" and len(taken) == 1
    assert taken[0].url == f"{fake.base_url}/chat/completions"
    [c async for c in provider_for(settings, "off", sink).aquery_llm_stream("hi")]
    assert len(taken) == 1  # LLM_FAST_STREAM=off: litellm's path


def test_routes() -> None:
    base = {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "api_key": "sk-x",
    }
    openai = route_for({**base, "model": "openai/gpt-4o-mini", "api_base": "http://h:1/v1"})
    assert openai is not None and openai.url == "http://h:1/v1/chat/completions"
    assert openai.headers["Authorization"] == "Bearer sk-x"
    deepseek = route_for({**base, "model": "deepseek/deepseek-chat"})
    assert deepseek is not None and deepseek.url.startswith("https://api.deepseek.com")
    # Not OpenAI's wire format, not a stream, or a keyword this path does not know.
    assert route_for({**base, "model": "anthropic/claude-3-5-sonnet-latest"}) is None
    assert route_for({**base, "model": "openai/gpt-4o-mini", "stream": False}) is None
    assert route_for({**base, "model": "openai/gpt-4o-mini", "extra_headers": {"a": "b"}}) is None
    assert route_for({**base, "model": "openai/gpt-4o-mini", "n": 2}) is None


async def test_a_text_the_wire_cannot_carry_fails_alike(
    fake: FakeOpenAI, settings: LLMSettings
) -> None:
    lone = json.loads('"lone \\ud800 surrogate"')  # a lone surrogate: not valid UTF-8
    results = await both_paths(fake, settings.model_copy(update={"max_retries": 0}), list, lone)
    assert "error" in results["auto"][0] and results["auto"][2] == []  # nothing sent
    assert_same(results)


def test_litellm_callbacks_keep_litellm_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmdoor import litellm_module

    monkeypatch.setattr(litellm_module(), "success_callback", ["langfuse"])
    kwargs = {"model": "openai/gpt-4o-mini", "messages": [], "stream": True, "api_key": "k"}
    assert route_for(kwargs) is None


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param(lambda: [Reply(text="The answer, in pieces.", chunk_size=3)], id="text"),
        pytest.param(
            lambda: [Reply(text="It is 4.", reasoning="Two and two.", chunk_size=2)],
            id="reasoning",
        ),
        pytest.param(
            lambda: [Reply(text="<think>hmm</think>\n\nDone.", chunk_size=3)], id="think-tags"
        ),
        pytest.param(
            lambda: [
                Reply(
                    tool_calls=[
                        {"name": "weather", "arguments": {"city": "Oslo"}},
                        {"name": "weather", "arguments": {"city": "Rome"}},
                    ],
                    chunk_size=5,
                )
            ],
            id="tool-calls",
        ),
        pytest.param(lambda: [Reply(text="no usage here", send_usage=False)], id="no-usage"),
        pytest.param(
            lambda: [Reply(text="cut", finish_reason="length", completion_tokens=7)], id="length"
        ),
    ],
)
async def test_same_events_usage_and_cost_on_both_paths(
    fake: FakeOpenAI, settings: LLMSettings, replies: Callable[[], list[Reply]]
) -> None:
    results = await both_paths(fake, settings, replies, model=PRICED, temperature=0.2)
    assert_same(results)
    assert results["auto"][1][0][3] is not None  # priced: a cost


async def test_tools_and_options_go_on_the_wire_alike(
    fake: FakeOpenAI, settings: LLMSettings
) -> None:
    results = await both_paths(
        fake,
        settings,
        lambda: [Reply(tool_calls=[{"name": "weather", "arguments": {"city": "Oslo"}}])],
        model=PRICED,
        tools=[WEATHER],
        tool_choice="auto",
        max_tokens=50,
        system_message="Be brief.",
        chat_history=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
    )
    assert_same(results)
    assert results["auto"][2][0]["tools"] == [WEATHER]


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param(lambda: [Reply.unauthorized()], id="401"),
        pytest.param(lambda: [Reply.error(403, "forbidden")], id="403"),
        pytest.param(lambda: [Reply.error(404, "no such model")], id="404"),
        pytest.param(lambda: [Reply.error(408, "request timeout")], id="408"),
        pytest.param(lambda: [Reply.error(400, "bad field")], id="400"),
        pytest.param(lambda: [Reply.context_too_long()], id="400-context"),
        pytest.param(
            lambda: [Reply.error(400, "flagged", code="content_policy_violation")], id="400-policy"
        ),
        pytest.param(lambda: [Reply.error(422, "unprocessable")], id="422"),
        pytest.param(lambda: [Reply.rate_limited(retry_after=0.01)] * 3, id="429"),
        pytest.param(lambda: [Reply.server_error(500)] * 3, id="500"),
        pytest.param(lambda: [Reply.server_error(502)] * 3, id="502"),
        pytest.param(lambda: [Reply.server_error(503)] * 3, id="503"),
        pytest.param(lambda: [Reply.rate_limited(retry_after=0), Reply(text="ok")], id="retry"),
        pytest.param(
            lambda: [Reply.broken_stream(after=2, text="abcdefghijkl", chunk_size=4)],
            id="broken",
        ),
    ],
)
async def test_same_errors_and_retries_on_both_paths(
    fake: FakeOpenAI, settings: LLMSettings, replies: Callable[[], list[Reply]]
) -> None:
    assert_same(await both_paths(fake, settings, replies, model=PRICED))


async def test_same_timeout_on_both_paths(fake: FakeOpenAI, settings: LLMSettings) -> None:
    quick = settings.model_copy(update={"timeout": 0.3, "max_retries": 0})
    results = await both_paths(fake, quick, lambda: [Reply(text="late", delay=1.0)])
    assert results["auto"][0]["error"][:2] == ("LLMTimeout", "timeout")
    assert_same(results)


async def test_a_stalled_stream_times_out_alike(fake: FakeOpenAI, settings: LLMSettings) -> None:
    quick = settings.model_copy(update={"timeout": 0.3, "max_retries": 0})
    results = await both_paths(
        fake, quick, lambda: [Reply(text="abcdefgh", chunk_size=4, chunk_delay=1.0)]
    )
    assert results["auto"][0]["error"][0] in ("LLMTimeout", "StreamInterrupted")
    assert results["auto"][0]["error"][0] == results["off"][0]["error"][0]
    assert results["auto"][1] == results["off"][1]


async def test_unreachable_server_is_unavailable_on_both_paths(settings: LLMSettings) -> None:
    dead = settings.model_copy(update={"api_base": "http://127.0.0.1:9/v1", "max_retries": 0})
    outs = {}
    for path in ("off", "auto"):
        sink = InMemoryUsageSink()
        out = await run_events(provider_for(dead, path, sink), "anyone?")
        outs[path] = (out["error"][:3], event_fields(sink))
    assert outs["auto"] == outs["off"]
    assert outs["auto"][0][:2] == ("ProviderUnavailable", "unavailable")


async def test_cancel_after_the_first_token_records_alike(
    fake: FakeOpenAI, settings: LLMSettings
) -> None:
    records = {}
    for path in ("off", "auto"):
        fake.reset()
        fake.script(Reply(text="a b c d e f g h i j", chunk_size=2, chunk_delay=0.05))
        sink = InMemoryUsageSink()
        provider = provider_for(settings, path, sink)
        stream = provider.aquery_llm_stream("go", PRICED)
        assert isinstance(stream, AsyncIterator)
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        records[path] = (first, event_fields(sink))
        (event,) = sink.events
        assert (event.outcome, event.error_kind) == ("partial", "cancelled")
    assert records["auto"] == records["off"]


async def test_task_cancellation_mid_stream_records_a_partial_call(
    fake: FakeOpenAI, settings: LLMSettings
) -> None:
    fake.script(Reply(text="x" * 40, chunk_size=1, chunk_delay=0.05))
    sink = InMemoryUsageSink()
    provider = provider_for(settings, "auto", sink)
    seen: list[str] = []
    three = asyncio.Event()

    async def read() -> None:
        async for chunk in provider.aquery_llm_stream("go", PRICED):
            seen.append(chunk)
            if len(seen) == 3:
                three.set()

    task = asyncio.create_task(read())
    await asyncio.wait_for(three.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (event,) = sink.events
    assert (event.outcome, event.error_kind, event.completion_tokens > 0) == (
        "partial",
        "cancelled",
        True,
    )


class _Content:
    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = blocks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for block in self.blocks:
            yield block


class _Response:
    def __init__(self, blocks: list[bytes]) -> None:
        self.content = _Content(blocks)
        self.released = self.closed = False

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


async def test_sse_framing() -> None:
    """Events split anywhere across reads, CRLF, comments, multi-line data, no space after
    the colon, and nothing read after [DONE]."""
    wire = (
        b": keep-alive\r\n\r\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\r\n\r\n'
        b"event: message\n"
        b'data:{"choices":[{"index":0,"delta":\n'
        b'data: {"content":"lo","reasoning":"r"}}]}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"never"}}]}\n\n'
    )
    route = Route("http://x", {}, b"", "openai", "gpt-4o-mini", None)
    for size in (1, 2, 7, 64, len(wire)):
        response = _Response([wire[i : i + size] for i in range(0, len(wire), size)])
        chunks = [c async for c in FastStream(response, route).chunks()]  # type: ignore[arg-type]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Hello"
        assert chunks[1].choices[0].delta.reasoning_content == "r"
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 3
        assert response.released and not response.closed
