"""Tool calls are bounded per round and per answer (LLM_TOOL_MAX_CALLS_PER_ROUND, _PER_ANSWER):
a model asking for 300 calls a round for 5 rounds gets 8 a round and 24 in all; every
call over a limit gets a result saying the limit refused it (the model reads why), and
once the answer's calls are spent the next round must answer. And tool-call arguments
count in tokens: a 3 MB argument is not 7 tokens, for history trimming and for the
budget reservation alike.

On the old code all 1 500 calls ran, and the assistant turn with the 3 MB argument
counted as a handful of tokens."""

from __future__ import annotations

import json
from typing import Any

from llmdoor import InMemoryUsageSink, LLMProvider, StreamFinished, ToolFinished, ToolStarted
from llmdoor.chat.history import fit_history
from llmdoor.models.pricing import count_messages
from llmdoor.models.tokens import turn_tokens
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.llm.conftest import CountingGuard


def _round(n: int, calls: int) -> Reply:
    return Reply(
        tool_calls=[
            {"id": f"r{n}c{i}", "name": "fetch_page", "arguments": {"n": n * 1000 + i}}
            for i in range(calls)
        ]
    )


async def test_a_model_asking_for_300_calls_a_round_gets_the_limits(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    ran: list[int] = []

    def fetch_page(n: int) -> str:
        """Fetch a page."""
        ran.append(n)
        return f"page {n}"

    fake.script(*[_round(n, 300) for n in range(5)], Reply(text="done"))
    events = [e async for e in provider.aquery_llm_events("read everything", tools=[fetch_page])]
    assert len(ran) == 24  # 8 a round, 24 an answer: not 1 500
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert len(started) == len(finished) == 24
    # Rounds 1-3 ran 8 calls each; the 4th round was the last, without tools.
    assert len(fake.chat_requests) == 4
    assert fake.chat_requests[-1].json["tool_choice"] == "none"
    # Every call has its result; the ones over the limit say why they were not run.
    tool_results = [m for m in fake.chat_requests[-1].messages if m["role"] == "tool"]
    assert len(tool_results) == 900
    refused = [m for m in tool_results if "refused by the limit" in m["content"]]
    assert len(refused) == 900 - 24
    assert "8 tool calls per round" in refused[0]["content"]
    last = events[-1]
    assert isinstance(last, StreamFinished) and last.extra["capped"]


async def test_the_limits_are_settings_and_options(
    make_provider: Any, fake: FakeOpenAI, settings: Any
) -> None:
    ran: list[int] = []

    def fetch_page(n: int) -> str:
        """Fetch a page."""
        ran.append(n)
        return "ok"

    tight = settings.model_copy(
        update={"tool_max_calls_per_round": 2, "tool_max_calls_per_answer": 3}
    )
    provider = make_provider(settings=tight)
    fake.script(_round(0, 5), _round(1, 5), Reply(text="done"))
    events = [e async for e in provider.aquery_llm_events("go", tools=[fetch_page])]
    assert len(ran) == 3  # 2 in the first round, 1 in the second
    results = [m for m in fake.chat_requests[-1].messages if m["role"] == "tool"]
    assert "3 tool calls per answer" in results[-1]["content"]
    assert isinstance(events[-1], StreamFinished)
    ran.clear()
    fake.script(_round(0, 5), Reply(text="done"))
    await provider.aquery_llm("go", tools=[fetch_page], max_tool_calls_per_round=1)
    assert len(ran) == 1


BIG = "x" * 3_000_000


def _big_call() -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "write_file", "arguments": json.dumps({"text": BIG})},
            }
        ],
    }


def test_a_3_mb_argument_counts_as_what_it_is() -> None:
    model = "openai/gpt-4o-mini"
    assert turn_tokens(model, _big_call()) > 300_000  # not 7
    assert count_messages(model, [_big_call()]) > 300_000
    history = [
        {"role": "user", "content": "write it"},
        _big_call(),
        {"role": "tool", "tool_call_id": "c1", "name": "write_file", "content": "written"},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "thanks"},
        {"role": "assistant", "content": "You're welcome."},
    ]
    kept = fit_history(model, None, history, "and now?")
    # The turn with the huge argument (and its result) cannot fit a 128k window: trimmed.
    assert all(not m.get("tool_calls") for m in kept)
    assert kept[-1]["content"] == "You're welcome."


async def test_the_reservation_counts_tool_arguments(
    make_provider: Any, fake: FakeOpenAI, guard: CountingGuard, sink: InMemoryUsageSink
) -> None:
    provider = make_provider(budget=guard)
    small = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]}  # fmt: skip
    big = _big_call()
    numbers = " ".join(str(i) for i in range(20_000))  # ~40 000 tokens
    big["tool_calls"][0]["function"]["arguments"] = json.dumps({"text": numbers})
    tool = {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "ok"}
    fake.script(Reply(text="a"), Reply(text="b"))
    model = "openai/gpt-4o-mini"
    await provider.aquery_llm("q", model, chat_history=[small, tool], user_id=5)
    await provider.aquery_llm("q", model, chat_history=[big, tool], user_id=5)
    first, second = (h.reserved for h in guard.holds)
    assert first is not None and second is not None
    # gpt-4o-mini reads $0.15 per million tokens: the argument is reserved for.
    assert second - first > 30_000 * 0.15e-6


def test_a_40_mb_mcp_result_is_cut_to_its_cap() -> None:
    from types import SimpleNamespace

    from llmdoor.tools.mcp import _text_of as text_of  # the one place results are read

    result = SimpleNamespace(
        content=[SimpleNamespace(type="text", text="a" * 40_000_000)], structured_content=None
    )
    text = text_of(result, 1_000_000)
    assert len(text) < 1_000_100 and text.endswith("cut at 1000000 characters]")
    structured = SimpleNamespace(content=[], structured_content={"rows": ["b" * 1000] * 5000})
    assert len(text_of(structured, 10_000)) < 10_100
    small = SimpleNamespace(content=[SimpleNamespace(type="text", text="ok")])
    assert text_of(small, 1_000_000) == "ok"
