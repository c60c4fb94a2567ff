"""Reading one model call's event stream for an answer: text and reasoning to the sink,
tool progress (and the tool turns and sources the answer came from), and ⏹ Stop, which
cancels the call mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from app.services.chat.tool_answer import ToolProgressSink, turns_of
from app.storage import Turn
from llmdoor import (
    LLMError,
    ReasoningDelta,
    Source,
    StreamEvent,
    StreamFinished,
    TextComplete,
    TextDelta,
    ToolFinished,
    ToolStarted,
)

log = logging.getLogger(__name__)


def valid_text(text: str) -> str:
    """``text`` as Unicode Telegram and storage accept: surrogate halves that came in
    separate chunks joined into their character, a lone one replaced (U+FFFD). A model's
    stream may carry them (JSON escapes them), and they cannot be encoded as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class StreamSink(Protocol):
    """The part of an AnswerSink the stream feeds while the answer is written."""

    async def update(self, full_text_so_far: str) -> None: ...

    async def reasoning(self, reasoning_so_far: str) -> None: ...


@runtime_checkable
class PacedSink(Protocol):
    """A sink that says when an update could show anything (optional for StreamSinks):
    a model streams a chunk per token, a preview goes out a few times a second, so the text
    so far is joined and offered only then, not per chunk."""

    def wants_update(self) -> bool: ...


class CallCounter(Protocol):
    async def record(self, name: str, ok: bool) -> None: ...


@dataclass
class AnswerProgress:
    text: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    finished: StreamFinished | None = None
    tool_turns: list[Turn] = field(default_factory=list)  # tool calls and results, in order
    sources: list[Source] = field(default_factory=list)
    # Set when the answer is written (TextComplete) while the call's end is still read:
    # the rest of the stream (the vendor's usage, litellm's and our bookkeeping).
    tail: asyncio.Task[None] | None = None
    used_tools: bool = False


def _tail_done(tail: asyncio.Task[None]) -> None:
    if tail.cancelled() or (exc := tail.exception()) is None:
        return
    kind = exc.kind if isinstance(exc, LLMError) else type(exc).__name__
    log.info("chat: the call's end failed after the answer was complete (%s)", kind)


async def _tool_progress(
    event: ToolStarted | ToolFinished,
    sink: StreamSink,
    counter: CallCounter | None,
    offered: Collection[str],
) -> None:
    progress = sink if isinstance(sink, ToolProgressSink) else None
    if isinstance(event, ToolStarted):
        if progress is not None:
            await progress.tool_started(event)
        return
    # Only tools that were offered are counted: a model may call any name it makes up,
    # and /stats would grow a row for each.
    if counter is not None and event.name in offered:
        await counter.record(event.name, event.ok)
    if progress is not None:
        await progress.tool_finished(event)


async def read_answer(
    events: AsyncIterator[StreamEvent],
    sink: StreamSink,
    progress: AnswerProgress,
    stop: asyncio.Event | None,
    counter: CallCounter | None = None,
    offered: Collection[str] = (),
) -> bool:
    """Read the stream into ``progress``; True when ``stop`` cut it short. ``counter``
    records the calls of the tools named in ``offered``.

    An answer that used no tool is returned as soon as it is written (``TextComplete``):
    the end of the call (the vendor's usage, litellm's bookkeeping, the usage record) is
    read on in ``progress.tail``, so the final message does not wait for it."""
    written = asyncio.Event()
    wants = sink.wants_update if isinstance(sink, PacedSink) else None

    async def read() -> None:
        async for event in events:
            if isinstance(event, TextDelta):
                progress.text.append(event.text)
                if wants is None or wants():
                    await sink.update(valid_text("".join(progress.text)))
            elif isinstance(event, ReasoningDelta):
                progress.thoughts.append(event.text)
                if wants is None or wants():
                    await sink.reasoning(valid_text("".join(progress.thoughts)))
            elif isinstance(event, ToolStarted | ToolFinished):
                progress.used_tools = True
                await _tool_progress(event, sink, counter, offered)
            elif isinstance(event, TextComplete):
                if not progress.used_tools:
                    progress.finished = StreamFinished(
                        event.text, event.reasoning, event.finish_reason
                    )
                    written.set()
            elif isinstance(event, StreamFinished):
                if event.tool_calls:
                    progress.text = []  # a round that asked for tools: a preamble
                    continue
                progress.finished = event
                progress.tool_turns = turns_of(event.extra.get("messages") or [])
                progress.sources = list(event.extra.get("sources") or [])
                if event.extra.get("tools_left_out"):
                    log.info("chat: the model cannot call functions; answered without tools")

    reader = asyncio.create_task(read())
    waiter = asyncio.create_task(stop.wait()) if stop is not None else None
    done_writing = asyncio.create_task(written.wait())
    try:
        pending = {reader, done_writing} if waiter is None else {reader, done_writing, waiter}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if reader.done():
            reader.result()  # the model's errors surface here
            return False
        if written.is_set():
            # The answer is whole: its call ends in the background.
            progress.tail = asyncio.create_task(_read_on(reader, events))
            progress.tail.add_done_callback(_tail_done)
            return False
        # Stopped: cancelling the reader cancels the model call; llmdoor records the
        # call as partial (estimated from what arrived) and settles the budget.
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        return True
    finally:
        done_writing.cancel()
        if waiter is not None:
            waiter.cancel()
        if progress.tail is None:
            await _close(reader, events)


async def _read_on(reader: asyncio.Task[None], events: AsyncIterator[StreamEvent]) -> None:
    try:
        await reader  # cancelling this task cancels the reader, and so the call
    finally:
        await _close(reader, events)


async def _close(reader: asyncio.Task[None], events: AsyncIterator[StreamEvent]) -> None:
    if not reader.done():
        # Our own task was cancelled (shutdown): the model call goes with it. The reader
        # must be done before the stream can be closed.
        reader.cancel()
        await asyncio.wait({reader})
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
