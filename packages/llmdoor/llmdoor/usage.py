"""Usage events: one per model call, whatever its outcome, handed to a pluggable sink."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

Outcome = Literal["ok", "error", "partial"]


class CallKind(StrEnum):
    """What a model call did: the kind of its usage event, and the key usage is rolled up
    and shown by. The values are stored as they are (usage records, rollups, CSV), so a
    value never changes; the members are listed in the order reports show them."""

    CHAT = "chat"
    TRANSCRIPTION = "transcription"
    SPEECH = "speech"
    IMAGE = "image"
    DOCUMENT = "document"
    SUMMARY = "summary"  # a long conversation's earlier part folded into a summary


def utcnow() -> datetime:
    return datetime.now(UTC)


class UsageEvent(BaseModel):
    """What one model call cost. `cost_usd` is None when litellm has no price. When the
    vendor reported no usage (a broken stream, a cancelled call), tokens and cost are
    estimated from the tokenizer count and `cost_estimated` is True."""

    user_id: int | None
    model: str  # resolved litellm id, e.g. "openai/gpt-4o"
    shortcut: str | None = None  # the name the caller used, when it was a shortcut
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cost_estimated: bool = False
    # The price came from the operator's fallback (LLM_UNPRICED_*_PER_MTOK), not from the
    # gateway or litellm's map: /stats says so.
    cost_fallback: bool = False
    latency_ms: float = 0.0
    ttft_ms: float | None = None  # time to first token, streams only
    # "partial": a stream broke after some text was delivered, or its reader stopped it
    # (a user's stop, even before the first token: the prompt is charged by estimate).
    outcome: Outcome = "ok"
    error_kind: str | None = None  # LLMError.kind of the failure, None on success
    streamed: bool = False
    attempts: int = 1  # requests sent, retries included
    kind: CallKind = CallKind.CHAT  # usage rollups are kept per kind
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def combined(events: Sequence[UsageEvent]) -> UsageEvent | None:
    """Several calls as one (the rounds of one answer, tool rounds included): tokens and
    cost summed, the first token timed from the first call's start, the total time from
    that start to the last call's end. Partial when any call was; None for no calls."""
    if len(events) <= 1:
        return events[0] if events else None
    first, last = events[0], events[-1]
    started = first.created_at - timedelta(milliseconds=first.latency_ms)
    costs = [e.cost_usd for e in events]
    outcomes = {e.outcome for e in events}
    outcome: Outcome = "partial" if "partial" in outcomes else last.outcome
    return last.model_copy(
        update={
            "prompt_tokens": sum(e.prompt_tokens for e in events),
            "completion_tokens": sum(e.completion_tokens for e in events),
            "cost_usd": None if None in costs else sum(c or 0.0 for c in costs),
            "cost_estimated": any(e.cost_estimated for e in events),
            "cost_fallback": any(e.cost_fallback for e in events),
            "latency_ms": (last.created_at - started).total_seconds() * 1000,
            "ttft_ms": first.ttft_ms,
            "outcome": outcome,
            "attempts": sum(e.attempts for e in events),
        }
    )


@runtime_checkable
class UsageSink(Protocol):
    async def record(self, event: UsageEvent) -> None: ...


class InMemoryUsageSink:
    """Default sink for library use: keeps events in a list (bounded)."""

    def __init__(self, max_events: int = 100_000) -> None:
        self.events: list[UsageEvent] = []
        self._max = max_events

    async def record(self, event: UsageEvent) -> None:
        self.events.append(event)
        if len(self.events) > self._max:
            del self.events[: len(self.events) - self._max]
