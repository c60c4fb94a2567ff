"""read_answer: tool calls are counted for /stats only when the tool was offered (a model
may call any name it makes up)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.services.chat.answer_stream import AnswerProgress, read_answer
from llmdoor import StreamFinished, TextDelta, ToolFinished, ToolStarted
from llmdoor.events import StreamEvent


class Counter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    async def record(self, name: str, ok: bool) -> None:
        self.calls.append((name, ok))


class Sink:
    async def update(self, full_text_so_far: str) -> None:
        return None

    async def reasoning(self, reasoning_so_far: str) -> None:
        return None


async def _events() -> AsyncIterator[StreamEvent]:
    yield ToolStarted("c1", "web_search", {"query": "x"})
    yield ToolStarted("c2", "made_up_" + "x" * 200, {})
    yield ToolStarted("c3", "demo__secret_number", {})
    yield ToolFinished("c1", "web_search", True, "2 sources")
    yield ToolFinished("c2", "made_up_" + "x" * 200, False, "not available")
    yield ToolFinished("c3", "demo__secret_number", False, "not available")
    yield TextDelta("done")
    yield StreamFinished(text="done")


async def test_only_offered_tools_are_counted() -> None:
    counter = Counter()
    progress = AnswerProgress()
    offered = frozenset({"web_search", "read_url"})
    stopped = await read_answer(_events(), Sink(), progress, None, counter, offered)
    assert not stopped and "".join(progress.text) == "done"
    assert counter.calls == [("web_search", True)]


async def test_nothing_offered_nothing_counted() -> None:
    counter = Counter()
    await read_answer(_events(), Sink(), AnswerProgress(), None, counter)
    assert counter.calls == []
