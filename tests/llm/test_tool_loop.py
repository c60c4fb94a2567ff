"""The tool loop over the fake OpenAI server: functions and Pydantic-typed tools, results
sent back, parallel calls in one round, per-tool timeout, the rounds cap, models without
function calling, one usage event and one budget reservation per round."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from llmdoor import (
    BudgetExceeded,
    Caller,
    InMemoryUsageSink,
    LLMProvider,
    StreamFinished,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from llmdoor.tools import Source, ToolOutput, as_tool, tool
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.llm.conftest import CountingGuard


def add(a: int, b: Annotated[int, Field(description="the second term")] = 1) -> int:
    """Add two integers.

    This paragraph is for programmers only."""
    return a + b


class Weather(BaseModel):
    city: str
    unit: str = "C"


async def weather(query: Weather) -> str:
    """Today's weather in a city."""
    return f"{query.city}: 21 {query.unit}, sunny"


async def _events(
    provider: LLMProvider, prompt: str, model: str | None = None, **options: Any
) -> list[Any]:
    return [e async for e in provider.aquery_llm_events(prompt, model, **options)]


def test_schemas_come_from_signatures() -> None:
    schema = as_tool(add).schema()["function"]
    assert schema["name"] == "add" and schema["description"] == "Add two integers."
    props = schema["parameters"]["properties"]
    assert props["a"]["type"] == "integer" and props["b"]["description"] == "the second term"
    assert schema["parameters"]["required"] == ["a"]
    typed = as_tool(weather).schema()["function"]
    assert typed["parameters"]["required"] == ["city"]
    assert set(typed["parameters"]["properties"]) == {"city", "unit"}


async def test_a_tool_runs_and_its_result_goes_back(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(
        Reply(tool_calls=[{"id": "c1", "name": "add", "arguments": {"a": 2, "b": 3}}]),
        Reply(text="2 + 3 = 5", chunk_size=3),
    )
    events = await _events(provider, "what is 2+3?", tools=[add])
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert started == [ToolStarted("c1", "add", {"a": 2, "b": 3})]
    assert finished == [ToolFinished("c1", "add", True, "5")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "2 + 3 = 5"
    first, second = fake.chat_requests[-2:]
    assert [t["function"]["name"] for t in first.json["tools"]] == ["add"]
    call, result = second.messages[-2:]
    assert call["role"] == "assistant" and call["tool_calls"][0]["id"] == "c1"
    assert result == {"role": "tool", "tool_call_id": "c1", "name": "add", "content": "5"}
    # One usage event per model round, each StreamFinished carrying its own.
    rounds = [e for e in events if isinstance(e, StreamFinished)]
    assert len(rounds) == 2 and len(sink.events) == 2
    assert [r.usage for r in rounds] == sink.events
    last = rounds[-1]
    kept = last.extra["messages"]
    assert last.extra["rounds"] == 2 and kept[1] == result
    assert kept[0]["role"] == "assistant" and kept[0]["tool_calls"] == call["tool_calls"]


async def test_pydantic_typed_tool_and_bad_arguments(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    fake.script(
        Reply(
            tool_calls=[
                {"id": "w", "name": "weather", "arguments": {"city": "Oslo"}},
                {"id": "bad", "name": "weather", "arguments": {"town": "Oslo"}},
                {"id": "nope", "name": "launch", "arguments": {}},
            ]
        ),
        Reply(text="Sunny in Oslo."),
    )
    events = await _events(provider, "weather?", tools=[weather])
    done = {e.call_id: e for e in events if isinstance(e, ToolFinished)}
    assert done["w"].ok and not done["bad"].ok and not done["nope"].ok
    results = {m["tool_call_id"]: m["content"] for m in fake.chat_requests[-1].messages[-3:]}
    assert results["w"] == "Oslo: 21 C, sunny"
    assert "city" in results["bad"] and "Field required" in results["bad"]
    assert "no tool named 'launch'" in results["nope"]


async def test_calls_of_one_round_run_in_parallel(provider: LLMProvider, fake: FakeOpenAI) -> None:
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def meet(me: str, other: str) -> str:
        """Wait for the other call to start."""
        started[me].set()
        # Sequential calls would never meet: this one would time out.
        await asyncio.wait_for(started[other].wait(), 10)
        return f"{me} met {other}"

    fake.script(
        Reply(
            tool_calls=[
                {"id": "a", "name": "meet", "arguments": {"me": "a", "other": "b"}},
                {"id": "b", "name": "meet", "arguments": {"me": "b", "other": "a"}},
            ]
        ),
        Reply(text="both met"),
    )
    events = await _events(provider, "meet", tools=[meet], tool_timeout=30)
    assert all(e.ok for e in events if isinstance(e, ToolFinished))
    contents = [m["content"] for m in fake.chat_requests[-1].messages[-2:]]
    assert contents == ["a met b", "b met a"]  # results in call order


async def test_a_slow_tool_times_out_and_the_model_is_told(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    async def slow() -> str:
        """Never finishes in time."""
        await asyncio.sleep(60)
        return "late"

    fake.script(Reply(tool_calls=[{"id": "s", "name": "slow", "arguments": {}}]), Reply(text="ok"))
    events = await _events(provider, "go", tools=[slow], tool_timeout=0.2)
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert finished == [ToolFinished("s", "slow", False, "timed out")]
    assert "timed out" in fake.chat_requests[-1].messages[-1]["content"]


async def test_the_loop_is_capped(provider: LLMProvider, fake: FakeOpenAI) -> None:
    ran: list[int] = []

    def again(n: int) -> str:
        """Ask again."""
        ran.append(n)
        return "more"

    asks = [Reply(tool_calls=[{"name": "again", "arguments": {"n": i}}]) for i in range(5)]
    fake.script(*asks)
    events = await _events(provider, "loop forever", tools=[again], max_tool_rounds=2)
    assert ran == [0, 1]  # two rounds ran tools; the third call was not run
    assert len(fake.chat_requests) == 3
    assert fake.chat_requests[-1].json["tool_choice"] == "none"
    last = events[-1]
    assert isinstance(last, StreamFinished) and last.extra["capped"] and not last.tool_calls


async def test_models_without_function_calling_get_no_tools(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    # litellm's map: gpt-5-chat does not call functions.
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "name": "add", "content": "2"},
        {"role": "assistant", "content": "2"},
    ]
    events = await _events(
        provider, "hello", "openai/gpt-5-chat", tools=[add], chat_history=history
    )
    assert "tools" not in fake.chat_requests[-1].json
    sent = fake.chat_requests[-1].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # no tool turns
    last = events[-1]
    assert isinstance(last, StreamFinished) and last.extra["tools_left_out"]
    assert last.text == "echo: hello" and len(sink.events) == 1


async def test_every_round_reserves_budget(
    make_provider: Any, fake: FakeOpenAI, guard: CountingGuard
) -> None:
    provider = make_provider(budget=guard)
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 1}}]), Reply(text="2"))
    await _events(provider, "1+1", "openai/gpt-4o-mini", tools=[add], user_id=5)
    assert len(guard.holds) == 2 and all(len(s) == 1 for s in guard.settlements)


class RefuseSecond(CountingGuard):
    async def reserve(self, caller: Caller, estimate_usd: float | None) -> Any:
        if self.holds:
            raise BudgetExceeded("daily budget spent", user_id=caller.user_id)
        return await super().reserve(caller, estimate_usd)


async def test_the_budget_check_covers_later_rounds(
    make_provider: Any, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    provider = make_provider(budget=RefuseSecond())
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 1}}]), Reply(text="2"))
    with pytest.raises(BudgetExceeded):
        await _events(provider, "1+1", tools=[add], user_id=5)
    assert len(fake.chat_requests) == 1 and len(sink.events) == 1


async def test_sources_are_numbered_once_per_answer(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    @tool(name="find")
    def find(q: str) -> ToolOutput:
        """Search."""
        return ToolOutput(
            sources=(Source("A", "https://a.example/"), Source("B", "https://b.example/"))
        )

    fake.script(
        Reply(tool_calls=[{"name": "find", "arguments": {"q": "x"}}]),
        Reply(tool_calls=[{"name": "find", "arguments": {"q": "y"}}]),
        Reply(text="A [1] and B [2]."),
    )
    events = await _events(provider, "find", tools=[find])
    last = events[-1]
    assert [s.url for s in last.extra["sources"]] == ["https://a.example/", "https://b.example/"]
    first_result = fake.chat_requests[1].messages[-1]["content"]
    assert first_result.startswith("[1] A\nhttps://a.example/\n\n[2] B")


async def test_whole_and_sync_calls_run_the_loop(provider: LLMProvider, fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 4, "b": 4}}]), Reply(text="8"))
    assert await provider.aquery_llm("4+4", tools=[add]) == "8"
    assert not fake.chat_requests[-1].stream
    assert fake.chat_requests[-1].messages[-1]["content"] == "8"
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 1, "b": 1}}]), Reply(text="2"))
    assert await asyncio.to_thread(provider.query_llm, "1+1", tools=[add]) == "2"
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 2}}]), Reply(text="three"))
    chunks = [c async for c in provider.aquery_llm_stream("2+1", tools=[add])]
    assert "".join(chunks) == "three"


async def test_plain_schema_dicts_pass_through(provider: LLMProvider, fake: FakeOpenAI) -> None:
    schema = as_tool(add).schema()
    fake.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 1}}]))
    raw = await provider.aquery_llm_raw("1+1", tools=[schema])
    assert raw.choices[0].message.tool_calls[0].function.name == "add"
    assert len(fake.chat_requests) == 1 and json.loads(
        raw.choices[0].message.tool_calls[0].function.arguments
    ) == {"a": 1}


async def test_the_loop_timeout_also_bounds_tools_with_their_own(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    # A built-in or MCP tool brings its own (longer) timeout: LLM_TOOL_TIMEOUT still wins
    # when it is shorter, and the tool's own wins when it is.
    @tool(name="slow", timeout=60)
    async def slow() -> str:
        """Never finishes in time."""
        await asyncio.sleep(60)
        return "late"

    fake.script(Reply(tool_calls=[{"id": "s", "name": "slow", "arguments": {}}]), Reply(text="ok"))
    started = asyncio.get_running_loop().time()
    events = await _events(provider, "go", tools=[slow], tool_timeout=0.2)
    assert asyncio.get_running_loop().time() - started < 30
    assert [e for e in events if isinstance(e, ToolFinished)] == [
        ToolFinished("s", "slow", False, "timed out")
    ]
    assert "timed out after 0.2 s" in fake.chat_requests[-1].messages[-1]["content"]

    @tool(name="quick", timeout=0.2)
    async def quick() -> str:
        """Its own timeout is the shorter one."""
        await asyncio.sleep(60)
        return "late"

    fake.script(Reply(tool_calls=[{"id": "q", "name": "quick", "arguments": {}}]), Reply(text="ok"))
    await _events(provider, "go", tools=[quick], tool_timeout=30)
    assert "timed out after 0.2 s" in fake.chat_requests[-1].messages[-1]["content"]


async def test_long_tool_results_are_cut_with_a_note(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    def dump() -> str:
        """A tool that returns far too much."""
        return "word " * 50_000

    def rows() -> list[dict[str, str]]:
        """A plain function result (JSON) that is far too long."""
        return [{"row": str(i)} for i in range(20_000)]

    fake.script(
        Reply(
            tool_calls=[
                {"id": "d", "name": "dump", "arguments": {}},
                {"id": "r", "name": "rows", "arguments": {}},
            ]
        ),
        Reply(text="too much"),
    )
    await _events(provider, "dump", tools=[dump, rows], tool_result_limit=200)
    for result in fake.chat_requests[-1].messages[-2:]:
        content = result["content"]
        assert content.endswith("[…the tool's result was cut to its first 200 tokens]")
        assert len(content) < 2000
    fake.script(Reply(tool_calls=[{"id": "d", "name": "dump", "arguments": {}}]), Reply(text="ok"))
    await _events(provider, "dump", tools=[dump])  # LLM_TOOL_RESULT_LIMIT: 8000 by default
    content = fake.chat_requests[-1].messages[-1]["content"]
    assert "was cut to its first 8000 tokens" in content and len(content) < 60_000
    short = "word " * 10
    fake.script(Reply(tool_calls=[{"id": "e", "name": "echo", "arguments": {}}]), Reply(text="ok"))
    await _events(provider, "short", tools=[tool(name="echo")(lambda: short)])
    assert fake.chat_requests[-1].messages[-1]["content"] == short


async def test_structured_queries_refuse_runnable_tools(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    with pytest.raises(TypeError, match="does not run the tool loop"):
        await provider.aquery_llm_structured("weather?", Weather, tools=[add])
    with pytest.raises(TypeError, match="does not run the tool loop"):
        await asyncio.to_thread(provider.query_llm_structured, "weather?", Weather, tools=[add])
    assert fake.chat_requests == []  # refused before any call


def test_sources_read_back_from_tool_results() -> None:
    from llmdoor.tools import sources_in
    from llmdoor.tools.calls import SourceBook

    book = SourceBook()
    first = book.render(
        "", [Source("Oslo", "https://a.example/oslo", "Sunny"), Source("", "https://b.example")]
    )
    second = book.render(
        "Page text\n[9] not a source\nhttps://x.example", [Source("Oslo", "https://a.example/oslo")]
    )
    assert sources_in([first, second]) == [
        Source("Oslo", "https://a.example/oslo"),
        Source("", "https://b.example"),
    ]
    assert sources_in(["no sources here"]) == []
