"""The storage contract: domain models and repository protocols.

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
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from app.llm.usage import UsageEvent, UsageSink
from app.storage.breaker import CircuitBreaker

Backend = Literal["memory", "mongodb"]
RequestStatus = Literal["pending", "approved", "denied", "revoked"]
Role = Literal["system", "user", "assistant"]

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
    created_at: datetime = Field(default_factory=utc_ms)


class Conversation(BaseModel):
    id: str
    user_id: int
    chat_id: int
    active: bool = True
    turns: list[Turn] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_ms)
    updated_at: datetime = Field(default_factory=utc_ms)


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


class UsageTotals(UsageBucket):
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class UserUsage(UsageBucket):
    user_id: int | None  # None: calls made outside the bot (library use)


class ModelUsage(UsageBucket):
    model: str


class DayUsage(UsageBucket):
    day: date  # UTC calendar day


# ---------------------------------------------------------------------------- repositories


@runtime_checkable
class UserRepository(Protocol):
    async def get(self, user_id: int) -> UserRecord | None: ...

    async def upsert_seen(
        self,
        user_id: int,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> UserRecord:
        """Create or refresh profile fields and last_seen; keeps approval/model/budget."""
        ...

    # The setters create a bare record when the user was never seen (an admin may approve
    # or budget a user id before that user writes) and return the updated record.
    async def set_model(self, user_id: int, model: str | None) -> UserRecord: ...

    async def set_language(self, user_id: int, language: str | None) -> UserRecord: ...

    async def set_budget(self, user_id: int, usd: float | None) -> UserRecord: ...

    async def set_approved(self, user_id: int, approved: bool) -> UserRecord: ...

    async def is_approved(self, user_id: int) -> bool: ...

    async def list_approved(self) -> list[UserRecord]:
        """Sorted by user_id."""
        ...

    async def find_by_username(self, username: str) -> UserRecord | None:
        """Case-insensitive, a leading "@" is ignored."""
        ...


@runtime_checkable
class AccessRequestRepository(Protocol):
    async def open_or_get_pending(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> tuple[AccessRequest, bool]:
        """The user's pending request, creating it if none (created=True). Repeated presses
        coalesce into one request, also under concurrency."""
        ...

    async def last_request_for(self, user_id: int) -> AccessRequest | None:
        """The newest request of the user, whatever its status (for cooldowns)."""
        ...

    async def get(self, request_id: str) -> AccessRequest | None: ...

    async def decide(
        self, request_id: str, status: RequestStatus, admin_id: int
    ) -> AccessRequest | None:
        """Atomically move a *pending* request to ``status``; None when it is unknown or
        already decided (so two admins pressing at once yield exactly one decision).
        ``status="revoked"`` is also accepted on an approved request (revoke access)."""
        ...

    async def add_card(self, request_id: str, chat_id: int, message_id: int) -> None: ...

    async def list_pending(self) -> list[AccessRequest]:
        """Oldest first."""
        ...

    async def count_pending(self) -> int:
        """How many requests are pending (the cap on open requests)."""
        ...

    async def claim_delivery(self, request_id: str, stale_after: timedelta) -> bool:
        """Atomically claim the job of sending this request's admin cards. True for exactly
        one caller, on any number of bot instances: the request is pending, has no card yet,
        and nobody claimed it within ``stale_after`` (a claim that delivered nothing may be
        retried after that)."""
        ...

    async def release_delivery(self, request_id: str) -> None:
        """Give up a claim that delivered no card (no admin reachable yet), so the next
        press may try again at once. A request with cards is left alone."""
        ...


@runtime_checkable
class ConversationRepository(Protocol):
    async def active(self, user_id: int, chat_id: int) -> Conversation:
        """The active conversation for (user, chat), created if there is none."""
        ...

    async def get(self, conversation_id: str) -> Conversation | None: ...

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        """Append turns, keeping only the newest ``max_turns`` stored."""
        ...

    async def start_new(self, user_id: int, chat_id: int) -> Conversation:
        """Deactivate the current conversation (kept for history) and open a fresh one."""
        ...


@runtime_checkable
class SpendRepository(Protocol):
    """Per-user, per-UTC-day spend counters in USD (reservations included), changed only
    atomically so that parallel chats and several instances can never overspend."""

    async def reserve(
        self, user_id: int, day: date, amount_usd: float, limit_usd: float | None
    ) -> bool:
        """Add ``amount_usd`` to the day's total when the new total stays <= ``limit_usd``
        (``None``: no limit, always added). With ``amount_usd == 0`` it succeeds only while
        the total is < ``limit_usd``. Returns whether it was added; one atomic operation."""
        ...

    async def adjust(self, user_id: int, day: date, delta_usd: float) -> None:
        """Add ``delta_usd`` (negative when a call cost less than reserved); never refused.
        The total never goes below 0."""
        ...

    async def spent(self, user_id: int, day: date) -> float:
        """The day's total (0.0 when nothing was recorded)."""
        ...


@runtime_checkable
class IdentityRepository(Protocol):
    """``@username`` entries of ACCESS_ADMINS / ACCESS_FRIENDS bound to the numeric id that
    first showed up with that name; the binding never moves to another account."""

    async def bind(self, username: str, user_id: int) -> int:
        """Bind ``username`` (normalised: lower case, no "@") to ``user_id`` unless it is
        already bound; return the id it is bound to. First binder wins, atomically."""
        ...

    async def bound(self) -> dict[str, int]:
        """Every binding, username -> id."""
        ...


@runtime_checkable
class UsageRepository(Protocol):
    async def add(self, event: UsageEvent) -> UsageRecord:
        """Store one event. A UsageRecord keeps its id and is idempotent: writing the same
        id twice stores it once."""
        ...

    async def add_many(self, events: Sequence[UsageEvent]) -> int:
        """Store many (same idempotency); returns how many are now stored from this batch."""
        ...

    async def count(self, window: StatsWindow | None = None) -> int: ...

    async def totals(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> UsageTotals: ...

    async def per_user(self, window: StatsWindow | None = None, limit: int = 20) -> list[UserUsage]:
        """Top users by cost desc, then requests desc, then user_id asc (None first)."""
        ...

    async def per_model(
        self, window: StatsWindow | None = None, limit: int = 20, *, user_id: int | None = None
    ) -> list[ModelUsage]:
        """Top models by cost desc, then requests desc, then model asc."""
        ...

    async def per_day(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[DayUsage]:
        """One row per UTC day that has records, oldest first."""
        ...

    async def recent_errors(
        self, window: StatsWindow | None = None, *, user_id: int | None = None, limit: int = 20
    ) -> list[UsageRecord]:
        """Records with outcome != "ok", newest first."""
        ...

    async def cost_since(self, user_id: int, since: datetime) -> float:
        """The user's priced spend since ``since`` (daily budgets)."""
        ...

    def iter_records(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> AsyncIterator[UsageRecord]:
        """Stream records oldest first (CSV export) without loading them all at once."""
        ...


# ---------------------------------------------------------------------------- the bundle


class Storage:
    """Everything the bot persists, with one backend behind it. Build with ``open_storage``."""

    def __init__(
        self,
        *,
        backend: Backend,
        users: UserRepository,
        requests: AccessRequestRepository,
        conversations: ConversationRepository,
        usage: UsageRepository,
        usage_sink: DurableSinkLike,
        spend: SpendRepository,
        identities: IdentityRepository,
        closer: _Closer | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.backend: Backend = backend
        self.users = users
        self.requests = requests
        self.conversations = conversations
        self.usage = usage
        self.spend = spend
        self.identities = identities
        # The sink to hand to app.llm: a failed write is buffered and retried, never lost.
        self.usage_sink = usage_sink
        self._closer = closer
        # Every repository above goes through it (see app.storage.guard); always present
        # when built by open_storage.
        self.breaker = breaker if breaker is not None else CircuitBreaker(name=backend)

    @property
    def available(self) -> bool:
        """False while the circuit breaker holds the database for down (health checks)."""
        return self.breaker.available

    async def close(self) -> None:
        """Flush buffered usage, then release the backend (idempotent)."""
        await self.usage_sink.close()
        await self.breaker.aclose()
        if self._closer is not None:
            closer, self._closer = self._closer, None
            await closer()


class _Closer(Protocol):
    async def __call__(self) -> None: ...


@runtime_checkable
class DurableSinkLike(UsageSink, Protocol):
    @property
    def buffered(self) -> int: ...

    @property
    def written(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    async def flush(self, timeout: float | None = None) -> bool: ...  # noqa: ASYNC109

    async def close(self, timeout: float | None = None) -> None: ...  # noqa: ASYNC109
