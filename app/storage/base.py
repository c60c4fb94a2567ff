"""The storage contract, part two: the repository protocols both backends implement, and
the ``Storage`` bundle. Both backends (``app.storage.mongo`` and ``app.storage.memory``) must
give the same answers; ``tests/storage`` runs one contract suite over both. The models and
the conventions they keep are in ``app.storage.models`` (re-exported here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from app.llm.usage import UsageEvent
from app.storage.models import (
    COST_DECIMALS,
    DEFAULT_MAX_TURNS,
    SPEND_EPSILON,
    AccessRequest,
    AdminCard,
    Backend,
    Conversation,
    DayUsage,
    ModelUsage,
    ReasoningMode,
    RequestStatus,
    Role,
    StatsWindow,
    Turn,
    UsageBucket,
    UsageRecord,
    UsageTotals,
    UserPrefs,
    UserRecord,
    UserUsage,
    nearest_rank,
    normalise_username,
    utc_ms,
)
from app.storage.rollups import Rollup

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

    async def set_prefs(self, user_id: int, **changes: object) -> UserRecord:
        """Change some of the user's ``UserPrefs`` fields (validated; others are kept)."""
        ...

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

    # The last turn, when it is the assistant's: the answer the buttons under it act on.
    # Each returns False (and changes nothing) when the last turn is not an assistant turn.
    async def set_last_answer_messages(
        self, conversation_id: str, message_ids: Sequence[int]
    ) -> bool:
        """Record the Telegram messages the last answer was delivered in."""
        ...

    async def replace_last_answer(self, conversation_id: str, turns: Sequence[Turn]) -> bool:
        """Replace the last answer (Regenerate) with ``turns``: everything after the last
        user turn (the tool calls and results it came from, and the answer itself), so
        the history keeps one answer per prompt."""
        ...

    async def extend_last_answer(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        """Append ``text`` to the last answer and ``message_ids`` to its messages (Continue)."""
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

    async def rollups(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[Rollup]:
        """The (UTC day, user, model, kind) rollups of the days the window touches, without
        histograms (kept forever; written with each record by ``add``/``add_many``)."""
        ...

    async def histogram_rollups(
        self,
        window: StatsWindow | None = None,
        *,
        user_id: int | None = None,
        histograms: bool = True,
        days: Collection[date] | None = None,
    ) -> list[Rollup]:
        """Rollups with the latency histograms: per (day, kind) over all users and models,
        or per (day, user, kind) when ``user_id`` is given (one histogram per day to merge
        for totals, never one per user and model). ``histograms=False`` may leave the
        histograms out (their sums only); ``days`` keeps only those days of the window."""
        ...

    async def rebuild_rollups(self) -> int:
        """Recompute the rollups of the days the records cover (idempotent); returns how
        many rollups were written. With retention, the oldest, partly expired day is kept."""
        ...

    async def oldest_record_at(self) -> datetime | None:
        """When the oldest raw record still stored was made (retention drops older ones)."""
        ...


@runtime_checkable
class InstanceRegistry(Protocol):
    async def beat(self, instance_id: str, now: datetime, stale_after: float) -> int:
        """Record this instance's heartbeat; return how many instances are live."""
        ...

    async def leave(self, instance_id: str) -> None: ...


__all__ = [
    "COST_DECIMALS",
    "DEFAULT_MAX_TURNS",
    "SPEND_EPSILON",
    "AccessRequest",
    "AccessRequestRepository",
    "AdminCard",
    "Backend",
    "Conversation",
    "ConversationRepository",
    "DayUsage",
    "IdentityRepository",
    "InstanceRegistry",
    "ModelUsage",
    "ReasoningMode",
    "RequestStatus",
    "Role",
    "SpendRepository",
    "StatsWindow",
    "Turn",
    "UsageBucket",
    "UsageRecord",
    "UsageRepository",
    "UsageTotals",
    "UserPrefs",
    "UserRecord",
    "UserRepository",
    "UserUsage",
    "nearest_rank",
    "normalise_username",
    "utc_ms",
]
