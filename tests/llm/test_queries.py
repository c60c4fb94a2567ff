from __future__ import annotations

import base64
import json

import pytest
from pydantic import BaseModel

from llmdoor import (
    Attachment,
    InMemoryUsageSink,
    LLMProvider,
    StructuredOutputError,
    VisionNotSupported,
)
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.llm.conftest import FAKE_MODEL, PRICED_MODEL


class Weather(BaseModel):
    city: str
    celsius: float


async def test_aquery_llm_sends_history_and_options(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    text = await provider.aquery_llm(
        "how are you",
        system_message="be brief",
        chat_history=history,
        user_id=42,
        temperature=0.3,
        max_tokens=50,
    )
    assert text == "echo: how are you"
    (request,) = fake.chat_requests
    assert request.messages == [
        {"role": "system", "content": "be brief"},
        *history,
        {"role": "user", "content": "how are you"},
    ]
    assert request.json["temperature"] == 0.3
    assert request.json["max_tokens"] == 50
    assert request.headers["Authorization"] == "Bearer sk-test"
    (event,) = sink.events
    assert (event.user_id, event.model, event.outcome, event.streamed) == (
        42,
        FAKE_MODEL,
        "ok",
        False,
    )
    assert event.prompt_tokens > 0 and event.completion_tokens > 0
    assert event.cost_usd is None  # fake model: no price in the map, and no guess
    assert event.latency_ms > 0 and event.attempts == 1


def test_sync_twins(provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink) -> None:
    assert provider.query_llm("one") == "echo: one"
    assert provider.query_llm_text("two") == "echo: two"
    raw = provider.query_llm_raw("three")
    assert raw.choices[0].message.content == "echo: three"
    assert raw.usage.prompt_tokens > 0
    fake.script(Reply.json({"city": "Oslo", "celsius": -3.5}))
    assert provider.query_llm_structured("weather?", Weather) == Weather(city="Oslo", celsius=-3.5)
    chunks = list(provider.query_llm_stream("stream this sentence please"))
    assert len(chunks) > 1 and "".join(chunks) == "echo: stream this sentence please"
    assert [e.outcome for e in sink.events] == ["ok"] * 5
    assert len(fake.chat_requests) == 5


async def test_async_text_raw_alias(provider: LLMProvider) -> None:
    assert await provider.aquery_llm_text("x") == "echo: x"
    raw = await provider.aquery_llm_raw("y")
    assert raw.choices[0].message.content == "echo: y"


async def test_structured_success_sends_schema(provider: LLMProvider, fake: FakeOpenAI) -> None:
    fake.script(Reply(text='```json\n{"city": "Rome", "celsius": 21}\n```'))
    result = await provider.aquery_llm_structured("weather in Rome?", Weather)
    assert result == Weather(city="Rome", celsius=21)
    request = fake.chat_requests[0].json
    assert request["response_format"]["type"] == "json_schema"
    assert "celsius" in json.dumps(request["response_format"])


async def test_structured_invalid_reply(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply.json({"city": "Rome"}))
    with pytest.raises(StructuredOutputError) as info:
        await provider.aquery_llm_structured("weather?", Weather)
    assert "Weather" in str(info.value) and "celsius" in str(info.value)
    assert info.value.raw == '{"city": "Rome"}'
    fake.script(Reply(text="sorry, I cannot do JSON"))
    with pytest.raises(StructuredOutputError):
        await provider.aquery_llm_structured("weather?", Weather)
    assert [(e.outcome, e.error_kind) for e in sink.events] == [("error", "structured_output")] * 2
    assert sink.events[0].completion_tokens > 0  # the tokens were spent all the same


async def test_stream_chunks_usage_and_ttft(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply(text="a fairly long streamed answer", chunk_size=5, completion_tokens=7))
    chunks = [c async for c in provider.aquery_llm_stream("go", user_id=7)]
    assert chunks == ["a fai", "rly l", "ong s", "tream", "ed an", "swer"]
    assert fake.chat_requests[0].json["stream_options"] == {"include_usage": True}
    (event,) = sink.events
    assert event.streamed and event.outcome == "ok" and event.user_id == 7
    assert event.completion_tokens == 7 and event.prompt_tokens > 0
    assert event.ttft_ms is not None and 0 < event.ttft_ms <= event.latency_ms


async def test_cost_is_computed_for_a_known_model(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(
        Reply(text="ok", prompt_tokens=1000, completion_tokens=500),
        Reply(text="ok", prompt_tokens=1000, completion_tokens=500),
    )
    await provider.aquery_llm("price me", PRICED_MODEL)
    _ = [c async for c in provider.aquery_llm_stream("price me", "gpt-4o-mini")]
    expected = 1000 * 0.15e-6 + 500 * 0.6e-6
    assert [e.cost_usd for e in sink.events] == [pytest.approx(expected)] * 2
    assert sink.events[1].shortcut == "gpt-4o-mini"


async def test_attachments_are_sent_as_image_parts(provider: LLMProvider, fake: FakeOpenAI) -> None:
    png = b"\x89PNG\r\n\x1a\nfake-image"
    await provider.aquery_llm(
        "what is this?", attachments=[Attachment(data=png, mime_type="image/png")]
    )
    content = fake.chat_requests[0].messages[-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this?"}
    url = content[1]["image_url"]["url"]
    assert content[1]["type"] == "image_url"
    assert url == "data:image/png;base64," + base64.b64encode(png).decode()


async def test_vision_refused_only_for_known_non_vision_models(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    image = Attachment(data=b"img", mime_type="image/jpeg")
    with pytest.raises(VisionNotSupported):
        await provider.aquery_llm("see", "deepseek-v4-pro", attachments=[image])
    assert fake.chat_requests == [] and sink.events == []
    assert await provider.aquery_llm("see", FAKE_MODEL, attachments=[image]) == "echo: see"


async def test_extra_kwargs_pass_through(make_provider, fake: FakeOpenAI, settings) -> None:
    # No api_base in settings: the caller's api_base/api_key reach litellm untouched.
    provider = make_provider(
        settings=settings.model_copy(update={"api_base": None, "api_key": None})
    )
    text = await provider.aquery_llm(
        "direct",
        FAKE_MODEL,
        api_base=fake.base_url,
        api_key="sk-other",
        top_p=0.5,
        extra_body={"x_trace": "t-1"},
    )
    assert text == "echo: direct"
    request = fake.chat_requests[0]
    assert request.headers["Authorization"] == "Bearer sk-other"
    assert request.json["top_p"] == 0.5 and request.json["x_trace"] == "t-1"
    assert "num_retries" not in request.json


async def test_consumer_stopping_early_records_partial(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply(text="x" * 100, chunk_size=10), Reply(text="y" * 100, chunk_size=10))
    stream = provider.aquery_llm_stream("long")
    first = await anext(stream)
    await stream.aclose()
    assert first == "x" * 10
    for chunk in provider.query_llm_stream("long"):  # sync consumer breaking out
        assert chunk == "y" * 10
        break
    assert [(e.outcome, e.error_kind) for e in sink.events] == [("partial", "cancelled")] * 2


async def test_sink_failure_never_breaks_the_answer(
    make_provider, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenSink:
        async def record(self, event: object) -> None:
            raise RuntimeError("database down, password=sk-secretsecret123")

    provider = make_provider(usage_sink=BrokenSink())
    assert await provider.aquery_llm("still works") == "echo: still works"
    assert [c async for c in provider.aquery_llm_stream("me too")] != []
    assert "usage sink failed" in caplog.text
    assert "sk-secretsecret123" not in caplog.text


async def test_sync_twins_work_inside_a_running_loop(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    # E.g. a sync helper called from async code or Jupyter: the call runs on a background
    # loop (it blocks this loop meanwhile, as any sync call would).
    assert provider.query_llm("inside") == "echo: inside"
    assert "".join(provider.query_llm_stream("inside stream")) == "echo: inside stream"
    assert [e.outcome for e in sink.events] == ["ok", "ok"]
