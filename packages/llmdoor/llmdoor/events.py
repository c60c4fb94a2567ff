"""What an event stream (``aquery_llm_events``) yields: the answer text, the model's
reasoning, tool progress and, last, how the call ended. A UI shows each kind apart; the
plain text stream (``aquery_llm_stream``) is this stream with only the text kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmdoor.usage import UsageEvent


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's reasoning (litellm's ``reasoning_content``): never part of the
    answer, never sent back to the model as history."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for, as litellm returns it (arguments still JSON)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    name: str
    ok: bool
    summary: str = ""  # a short, display-safe description of the result or the error


@dataclass(frozen=True)
class TextComplete:
    """The model has finished writing this round's answer (its finish reason arrived) and
    asked for no tool. What the call cost follows in ``StreamFinished``, once the vendor's
    usage and litellm's own end-of-stream work are through: tens of milliseconds later
    under load. A UI can show the finished answer now instead of waiting for that."""

    text: str
    reasoning: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True)
class StreamFinished:
    """The last event of one model call (one round): what was said, and what it cost."""

    text: str
    reasoning: str = ""
    finish_reason: str | None = None  # "stop", "length", "tool_calls", ...
    tool_calls: tuple[ToolCall, ...] = ()
    usage: UsageEvent | None = None  # the call's usage event, as recorded
    extra: dict[str, Any] = field(default_factory=dict)


StreamEvent = (
    TextDelta | ReasoningDelta | ToolStarted | ToolFinished | TextComplete | StreamFinished
)
