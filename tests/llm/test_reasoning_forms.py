"""Reasoning in the forms models send it besides litellm's ``reasoning_content``:
Anthropic-style ``thinking_blocks`` on the delta, and ``<think>…</think>`` written inline in
the text (many local models). Either way it is reasoning, never answer text."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from llmdoor import InMemoryUsageSink, LLMProvider, ReasoningDelta, StreamFinished, TextDelta
from llmdoor.chat.streaming import reasoning_of
from llmdoor.chat.think import ThinkSplitter, split_think
from tests.fakes.openai_server import FakeOpenAI, Reply


def chunk(**delta: Any) -> Any:
    return SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(**delta))])


def test_thinking_blocks_are_reasoning() -> None:
    blocks = [
        {"type": "thinking", "thinking": "First, ", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},  # no text to show
        SimpleNamespace(type="thinking", thinking="then."),
    ]
    assert reasoning_of(chunk(content=None, thinking_blocks=blocks)) == "First, then."
    # litellm fills both with the same text: it is counted once.
    both = chunk(reasoning_content="Hmm.", thinking_blocks=[{"thinking": "Hmm."}])
    assert reasoning_of(both) == "Hmm."
    assert reasoning_of(chunk(content="text")) == ""


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_inline_think_is_split_off_whatever_the_chunking(size: int) -> None:
    text = "\n<think>Two and two.\nFour.</think>\n\nIt is 4. <think>check</think> Sure."
    splitter = ThinkSplitter()
    pieces = [splitter.feed(text[i : i + size]) for i in range(0, len(text), size)]
    pieces.append(splitter.flush())
    answer = "".join(a for a, _ in pieces)
    reasoning = "".join(r for _, r in pieces)
    assert answer == "It is 4. Sure."
    assert reasoning == "Two and two.\nFour.check"
    assert all("<" not in a for a, _ in pieces)  # no piece of a tag ever shows


def test_text_without_think_is_untouched() -> None:
    assert split_think("a < b and <thinking> is not a tag") == (
        "a < b and <thinking> is not a tag",
        "",
    )
    assert split_think("ends with <thi") == ("ends with <thi", "")
    assert split_think("  indented") == ("  indented", "")


async def test_inline_think_streams_as_reasoning_and_counts(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.script(Reply(text="<think>2 plus 2 makes 4.</think>\n\nThe answer is 4.", chunk_size=3))
    events = [e async for e in provider.aquery_llm_events("2+2?", user_id=3)]
    thoughts = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert thoughts == "2 plus 2 makes 4." and text == "The answer is 4."
    last = events[-1]
    assert isinstance(last, StreamFinished)
    assert (last.text, last.reasoning) == (text, thoughts)
    # The plain text query leaves it out too.
    fake.script(Reply(text="<think>hm</think>Yes."))
    assert await provider.aquery_llm("sure?", user_id=3) == "Yes."
    fake.script(Reply(text="<think>hm</think>Yes.", chunk_size=2))
    assert "".join([t async for t in provider.aquery_llm_stream("sure?", user_id=3)]) == "Yes."
