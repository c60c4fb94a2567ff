"""The storage contract, part one: the domain and statistics models and the conventions
every backend keeps (the repository protocols are in ``app.storage.base``).

Both backends (``app.storage.mongo`` and ``app.storage.memory``) implement these protocols and
must give the same answers; ``tests/storage`` runs one contract suite over both.

Conventions shared by every backend:
- datetimes are timezone-aware UTC with millisecond precision (what BSON stores); naive input
  is taken as UTC, finer input is truncated, so both backends return identical values;
- a ``StatsWindow`` is half-open: ``since <= created_at < until`` (either end may be open);
- "errors" in usage figures count every outcome other than ``"ok"`` (``error`` and ``partial``);
- ``cost_usd`` sums skip unpriced records (``cost_usd is None``) and count them in
  ``unpriced_requests`` instead; sums are rounded to 9 decimals so both backends agree;
- latency percentiles are nearest-rank, as MongoDB's ``$percentile`` ``approximate`` method
  returns them: ``sorted(values)[max(0, ceil(p * n) - 1)]``; ``None`` when there are no records;
- ids are 24-hex-digit strings (ObjectId form) in both backends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from llmdoor import CallKind, UsageEvent

Backend = Literal["memory", "mongodb"]
RequestStatus = Literal["pending", "approved", "denied", "revoked"]
Role = Literal["system", "user", "assistant", "tool"]

#: Stored turns per conversation; older ones are dropped on append (the model's context
#: window is far smaller anyway, and an unbounded array would hit BSON's 16 MB cap).
DEFAULT_MAX_TURNS = 200

COST_DECIMALS = 9

#: Float slack when a reservation must fit a budget exactly (0.1 + 0.2 > 0.3 in floats).
SPEND_EPSILON = 1e-9


def utc_ms(value: datetime | None = None) -> datetime:
    """Normalise to aware UTC at millisecond precision (BSON datetime resolution)."""
    if value is None:
        value = datetime.now(UTC)
    # naive input is taken as UTC (what BSON datetimes are)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def normalise_username(username: str) -> str:
    """How identity bindings key a username: lower case, no "@" (Telegram's are
    case-insensitive)."""
    name = username.strip().lstrip("@").lower()
    if not name:
        raise ValueError("empty username")
    return name


def nearest_rank(sorted_values: Sequence[float], p: float) -> float | None:
    """MongoDB's ``$percentile`` (method ``approximate``) on small/exact inputs."""
    if not sorted_values:
        return None
    idx = max(0, math.ceil(p * len(sorted_values)) - 1)
    return float(sorted_values[min(idx, len(sorted_values) - 1)])


# ---------------------------------------------------------------------------- domain models


ReasoningMode = Literal["off", "on", "stream"]


class UserPrefs(BaseModel):
    """Per-user switches set by commands (/reasoning, /usage, /voice). New switches get a
    default here, so records stored before they existed read as that default."""

    reasoning: ReasoningMode = "on"  # off: hidden; on: collapsed in the final message
    usage_footer: bool = False  # a cost/speed footer under each answer
    voice_replies: bool = False  # answer voice notes with voice too
    memory: bool = True  # facts from /remember go into the context of answers
    memory_auto: bool = True  # the model may offer to remember things (MEMORY_AUTO too)
    memory_in_groups: bool = False  # facts also in groups (other members see the answers)
    timezone: str | None = None  # Area/City for reminders (None: UTC)


class UserRecord(BaseModel):
    user_id: int
    username: str | None = None  # without "@", as Telegram reports it
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None  # from Telegram, refreshed on every upsert_seen
    language: str | None = None  # the user's explicit override (None: follow Telegram)
    approved: bool = False
    model: str | None = None  # chosen model shortcut/id (None: the default model)
    daily_budget_usd: float | None = None  # None: no per-user budget
    prefs: UserPrefs = Field(default_factory=UserPrefs)
    first_seen: datetime = Field(default_factory=utc_ms)
    last_seen: datetime = Field(default_factory=utc_ms)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class AdminCard(BaseModel):
    """A message with Approve/Deny buttons sent to an admin; edited once a decision lands."""

    chat_id: int
    message_id: int


class AccessRequest(BaseModel):
    id: str
    user_id: int
    username: str | None = None
    full_name: str | None = None
    status: RequestStatus = "pending"
    created_at: datetime = Field(default_factory=utc_ms)
    decided_by: int | None = None
    decided_at: datetime | None = None
    cards: list[AdminCard] = Field(default_factory=list)


class Turn(BaseModel):
    role: Role
    content: str
    model: str | None = None
    tokens: int | None = None
    # The tool loop's turns, in litellm's format: an assistant turn asking for tools
    # (``tool_calls``), then one "tool" turn per call with its result (``tool_call_id``,
    # ``name``: the tool).
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    created_at: datetime = Field(default_factory=utc_ms)
    # The Telegram messages that showed this turn (the user's message; the answer's parts),
    # so a reply to one of them finds its conversation and turn again.
    message_ids: list[int] = Field(default_factory=list)


def is_tool_turn(turn: Turn) -> bool:
    """A tool loop's turn: an assistant turn asking for tools, or a tool's result."""
    return turn.role == "tool" or (turn.role == "assistant" and bool(turn.tool_calls))


def answer_start(turns: Sequence[Turn], index: int) -> int:
    """Where the answer at ``index`` begins: at the tool calls and results right before
    it, if it came from tools."""
    start = index
    while start > 0 and is_tool_turn(turns[start - 1]):
        start -= 1
    return start


class ConversationInfo(BaseModel):
    """A conversation without its turns: what lists and searches return."""

    id: str
    user_id: int
    chat_id: int
    thread_id: int = 0  # the forum topic (message_thread_id); 0 outside topics
    active: bool = True
    archived: bool = False  # pushed out by the per-user cap; kept, listed apart
    title: str | None = None
    model: str | None = None  # None: the user's default model at answer time
    persona: str | None = None  # a persona ref ("b:<key>" built-in, "u:<id>" user's own)
    # /incognito: no memory in or out, and deleted (turns and all) as soon as it is not the
    # active conversation any more.
    incognito: bool = False
    created_at: datetime = Field(default_factory=utc_ms)
    updated_at: datetime = Field(default_factory=utc_ms)


class Conversation(ConversationInfo):
    turns: list[Turn] = Field(default_factory=list)
    # The earlier turns folded into a summary (app.services.memory.summaries): those
    # created at or before ``summary_until`` are kept for the user (export, /chats) but the
    # model gets the summary instead.
    summary: str | None = None
    summary_until: datetime | None = None

    def folded(self, turn: Turn) -> bool:
        """``turn`` is covered by the summary."""
        return self.summary_until is not None and utc_ms(turn.created_at) <= utc_ms(
            self.summary_until
        )


class Persona(BaseModel):
    """A user's own persona: a name and a system prompt."""

    id: str
    owner_id: int
    name: str
    prompt: str
    created_at: datetime = Field(default_factory=utc_ms)


class UsageRecord(UsageEvent):
    """A stored UsageEvent. The id is assigned before the first write attempt so retries
    are idempotent (a write that timed out but landed is not stored twice)."""

    id: str


# ---------------------------------------------------------------------------- stats models


class StatsWindow(BaseModel):
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


class UsageBucket(BaseModel):
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_requests: int = 0
    # Priced with the operator's fallback price (``cost_fallback``): included in cost_usd.
    fallback_priced_requests: int = 0


class UsageTotals(UsageBucket):
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class RollupTotals(UsageTotals):
    """Totals read from the daily rollups: percentiles come from merged log-bucket
    histograms (see app.storage.rollups for the error bound), plus time to first token."""

    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None


class UserUsage(UsageBucket):
    user_id: int | None  # None: calls made outside the bot (library use)


class ModelUsage(UsageBucket):
    model: str


class KindUsage(UsageBucket):
    kind: CallKind


class DayUsage(UsageBucket):
    day: date  # UTC calendar day
