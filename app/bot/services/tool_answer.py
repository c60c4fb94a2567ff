"""One answer with tools: the event stream of the tool loop turned into sink calls (text,
tool progress, sources) and into the turns the conversation keeps.

The text shown is the text of the current model round; a round that ends in tool calls
hands over to the tools' progress line, and the last round's text is the answer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from app.llm import (
    ChatMessage,
    LLMProvider,
    StreamFinished,
    StreamInterrupted,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from app.llm.access import Caller
from app.llm.messages import TOOL_KEYS, Attachment
from app.llm.tools import Source, Tool
from app.storage import Turn

log = logging.getLogger(__name__)


@runtime_checkable
class ToolProgressSink(Protocol):
    """What a sink shows of the tools, beside the text (optional for AnswerSinks)."""

    async def tool_started(self, event: ToolStarted) -> None: ...

    async def tool_finished(self, event: ToolFinished) -> None: ...

    async def show_sources(self, sources: Sequence[Source]) -> None: ...


class TextSink(Protocol):
    async def update(self, full_text_so_far: str) -> None: ...


class CallCounter(Protocol):
    async def record(self, name: str, ok: bool) -> None: ...


@dataclass
class ToolRun:
    text: str = ""
    turns: list[Turn] = field(default_factory=list)  # tool calls and results, in order
    sources: list[Source] = field(default_factory=list)
    tools_left_out: bool = False


def turn_message(turn: Turn) -> ChatMessage:
    """A stored turn as a chat message, tool fields included."""
    message: ChatMessage = {"role": turn.role, "content": turn.content}
    for key in TOOL_KEYS:
        value = getattr(turn, key, None)
        if value:
            message[key] = value
    return message


def without_tool_turns(history: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The history for a call without tools: vendors refuse tool calls and results when no
    tools are declared, and the answers that followed already carry what they found."""
    return [m for m in history if m.get("role") != "tool" and not m.get("tool_calls")]


def turns_of(messages: Sequence[ChatMessage]) -> list[Turn]:
    turns: list[Turn] = []
    for m in messages:
        if m.get("role") == "tool":
            turns.append(
                Turn(
                    role="tool",
                    content=str(m.get("content") or ""),
                    tool_call_id=m.get("tool_call_id"),
                    name=m.get("name"),
                )
            )
        elif m.get("tool_calls"):
            turns.append(
                Turn(
                    role="assistant",
                    content=str(m.get("content") or ""),
                    tool_calls=m["tool_calls"],
                )
            )
    return turns


async def answer_with_tools(
    llm: LLMProvider,
    text: str,
    model: str,
    *,
    system_message: str,
    history: list[ChatMessage],
    attachments: Sequence[Attachment] | None,
    caller: Caller,
    tools: Sequence[Tool],
    sink: TextSink,
    counter: CallCounter | None = None,
) -> ToolRun:
    """Raises what the stream raises; a StreamInterrupted carries the last round's text."""
    progress = sink if isinstance(sink, ToolProgressSink) else None
    run = ToolRun()
    parts: list[str] = []
    events = llm.aquery_llm_events(
        text,
        model,
        system_message=system_message,
        chat_history=history,
        attachments=list(attachments) if attachments else None,
        caller=caller,
        tools=list(tools),
    )
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
                await sink.update("".join(parts))
            elif isinstance(event, ToolStarted):
                if progress is not None:
                    await progress.tool_started(event)
            elif isinstance(event, ToolFinished):
                if counter is not None:
                    await counter.record(event.name, event.ok)
                if progress is not None:
                    await progress.tool_finished(event)
            elif isinstance(event, StreamFinished):
                if event.tool_calls:
                    parts = []  # a round that asked for tools: its words were a preamble
                    continue
                _finish(run, event)
    except StreamInterrupted as exc:
        raise StreamInterrupted(
            str(exc), model=exc.model, partial_text=exc.partial_text or "".join(parts)
        ) from None
    run.text = "".join(parts)
    if run.sources and progress is not None:
        await progress.show_sources(run.sources)
    return run


def _finish(run: ToolRun, event: StreamFinished) -> None:
    extra: dict[str, Any] = event.extra
    run.turns = turns_of(extra.get("messages") or [])
    run.sources = list(extra.get("sources") or [])
    run.tools_left_out = bool(extra.get("tools_left_out"))
    if run.tools_left_out:
        log.info("chat: the model cannot call functions; answered without tools")
