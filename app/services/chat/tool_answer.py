"""Answers with tools: what a sink may show of them, and the tool turns a conversation keeps
(ChatService reads the tool loop's events: a round that ends in tool calls hands over to
the tools' progress line, and the last round's text is the answer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from app.storage import Turn
from llmdoor import (
    TOOL_KEYS,
    ChatMessage,
    Source,
    ToolFinished,
    ToolStarted,
)


@runtime_checkable
class ToolProgressSink(Protocol):
    """What a sink shows of the tools, beside the text (optional for AnswerSinks)."""

    async def tool_started(self, event: ToolStarted) -> None: ...

    async def tool_finished(self, event: ToolFinished) -> None: ...

    async def show_sources(self, sources: Sequence[Source]) -> None: ...


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
