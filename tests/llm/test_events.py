"""The event stream: answer text, reasoning apart from it, tool calls assembled from their
fragments, TextComplete as soon as the model is done writing, and a last StreamFinished
carrying the recorded usage event."""

from __future__ import annotations

import json
import time

from llmdoor import (
    InMemoryUsageSink,
    LLMProvider,
    ReasoningDelta,
    StreamFinished,
    TextComplete,
    TextDelta,
)
from tests.fakes.openai_server import FakeOpenAI, Reply


async def test_reasoning_is_apart_from_the_text_and_counted(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(
        Reply(text="The answer is 4.", reasoning="2 plus 2 makes 4.", chunk_size=4),
    )
    events = [e async for e in provider.aquery_llm_events("2+2?", user_id=3)]
    thoughts = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert thoughts == "2 plus 2 makes 4." and text == "The answer is 4."
    last = events[-1]
    assert isinstance(last, StreamFinished)
    assert (last.text, last.reasoning, last.finish_reason) == (text, thoughts, "stop")
    assert last.usage is not None and last.usage == sink.events[-1]
    assert last.usage.outcome == "ok" and last.usage.user_id == 3
    # Reasoning comes first: the time to first token is that of the first thought.
    assert last.usage.ttft_ms is not None


async def test_the_text_stream_leaves_reasoning_out(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    fake.script(Reply(text="only this", reasoning="not this", chunk_size=3))
    chunks = [c async for c in provider.aquery_llm_stream("q")]
    assert "".join(chunks) == "only this"


async def test_tool_calls_are_assembled(provider: LLMProvider, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(
            tool_calls=[
                {"name": "web_search", "arguments": {"query": "weather in Oslo today"}},
                {"name": "read_url", "arguments": {"url": "https://example.com/a"}},
            ],
            chunk_size=5,
        )
    )
    events = [e async for e in provider.aquery_llm_events("weather?")]
    last = events[-1]
    assert isinstance(last, StreamFinished)
    assert last.finish_reason == "tool_calls" and last.text == ""
    assert [c.name for c in last.tool_calls] == ["web_search", "read_url"]
    assert json.loads(last.tool_calls[0].arguments) == {"query": "weather in Oslo today"}
    assert all(c.id for c in last.tool_calls)
    # A round that asks for tools is not an answer: nothing says it is complete.
    assert not any(isinstance(e, TextComplete) for e in events)


async def test_text_complete_comes_before_the_end_of_the_call(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    # The vendor holds its usage chunk back for a while after the finish reason.
    fake.script(Reply(text="All <think>hm</think>written.", chunk_size=5, tail_delay=0.5))
    seen: list[tuple[float, object]] = []
    async for event in provider.aquery_llm_events("q", user_id=5):
        seen.append((time.monotonic(), event))
        if isinstance(event, TextComplete):
            assert sink.events == []  # nothing recorded yet: the call has not ended
            # the vendor is still holding its usage chunk back
            assert fake.chat_requests[-1].done_at is None
    events = [e for _, e in seen]
    [complete] = [(t, e) for t, e in seen if isinstance(e, TextComplete)]
    at, done = complete
    assert isinstance(done, TextComplete)
    assert (done.text, done.reasoning, done.finish_reason) == ("All written.", "hm", "stop")
    # Every piece of text came before it; only the end of the call came after.
    assert events.index(done) == len(events) - 2
    ended_at, last = seen[-1]
    assert isinstance(last, StreamFinished) and last.text == done.text
    assert last.usage is not None and last.usage == sink.events[-1]
    done_at = fake.chat_requests[-1].done_at
    assert done_at is not None and at < done_at <= ended_at


def test_sync_events(provider: LLMProvider, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="sync words", reasoning="hm", chunk_size=2))
    events = list(provider.query_llm_events("q"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "sync words"
    assert isinstance(events[-1], StreamFinished) and events[-1].reasoning == "hm"


async def test_whole_response_with_tool_calls_parses(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    fake.script(Reply(tool_calls=[{"name": "f", "arguments": {"x": 1}}]))
    raw = await provider.aquery_llm_raw("q")
    call = raw.choices[0].message.tool_calls[0]
    assert call.function.name == "f" and json.loads(call.function.arguments) == {"x": 1}


def test_combined_usage_sums_the_rounds_of_one_answer() -> None:
    from datetime import timedelta

    from llmdoor.usage import UsageEvent, combined

    start = UsageEvent(user_id=1, model="m", latency_ms=1000.0).created_at
    first = UsageEvent(
        user_id=1,
        model="m",
        prompt_tokens=100,
        completion_tokens=10,
        cost_usd=0.001,
        latency_ms=1000.0,
        ttft_ms=300.0,
        created_at=start,
    )
    second = UsageEvent(
        user_id=1,
        model="m",
        prompt_tokens=300,
        completion_tokens=20,
        cost_usd=0.002,
        cost_estimated=True,
        latency_ms=500.0,
        ttft_ms=50.0,
        outcome="partial",
        created_at=start + timedelta(seconds=2),  # a tool ran for 1.5 s in between
    )
    both = combined([first, second])
    assert both is not None
    assert (both.prompt_tokens, both.completion_tokens) == (400, 30)
    assert both.cost_usd == 0.003 and both.cost_estimated and both.outcome == "partial"
    assert both.ttft_ms == 300.0 and both.latency_ms == 3000.0
    assert combined([]) is None
    assert combined([first, second.model_copy(update={"cost_usd": None})]).cost_usd is None  # type: ignore[union-attr]
