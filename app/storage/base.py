"""The storage contract, part two: the repository protocols both backends implement, and
the ``Storage`` bundle. Both backends (``app.storage.mongo`` and ``app.storage.memory``) must
give the same answers; ``tests/storage`` runs one contract suite over both. The models and
the conventions they keep are in ``app.storage.models`` (re-exported here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable

from app.storage.models import (
    COST_DECIMALS,
    DEFAULT_MAX_TURNS,
    SPEND_EPSILON,
    AccessRequest,
    AdminCard,
    Backend,
    Conversation,
    ConversationInfo,
    DayUsage,
    ModelUsage,
    Persona,
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
from llmdoor import UsageEvent

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
    """Conversations keyed by (user, chat, thread): ``thread_id`` is the forum topic, 0
    outside topics. At most one is active per key; the others are kept for ``/chats``.

    Lists and searches return ``ConversationInfo`` (no turns), newest ``updated_at`` first,
    then newest id. Search matches a conversation when every query word (see
    ``app.storage.words``) occurs in its title or in a message ever stored in it."""

    async def active(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
    ) -> Conversation:
        """The active conversation for the key, created (with ``model`` and ``persona``)
        if there is none."""
        ...

    async def get(self, conversation_id: str) -> Conversation | None: ...

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        """Append turns, keeping only the newest ``max_turns`` stored."""
        ...

    async def start_new(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
        incognito: bool = False,
    ) -> Conversation:
        """Deactivate the current conversation (kept for history; an incognito one is
        deleted) and open a fresh one."""
        ...

    async def add_aside(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
    ) -> Conversation:
        """A new conversation of the key that is not made the active one (a scheduled
        prompt's own: the user's chat goes on where it was)."""
        ...

    async def activate(self, conversation_id: str) -> Conversation | None:
        """Make it the active one of its key (the previous one is kept, unless it was
        incognito: then it is deleted) and unarchive it."""
        ...

    async def list_page(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        archived: bool = False,
        offset: int = 0,
        limit: int = 8,
    ) -> list[ConversationInfo]: ...

    async def count(
        self, user_id: int, chat_id: int, thread_id: int = 0, *, archived: bool = False
    ) -> int: ...

    async def search(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int,
        words: Sequence[str],
        *,
        limit: int = 50,
    ) -> list[ConversationInfo]:
        """Archived conversations included; ``words`` already normalised (query_words)."""
        ...

    async def rename(self, conversation_id: str, title: str) -> bool: ...

    async def replace_title(self, conversation_id: str, old: str | None, new: str) -> bool:
        """Set the title only while it is still ``old`` (None: unset), so an automatic
        title never overwrites the user's rename."""
        ...

    async def set_model(self, conversation_id: str, model: str | None) -> bool: ...

    async def set_persona(self, conversation_id: str, persona: str | None) -> bool: ...

    async def delete(self, conversation_id: str) -> bool:
        """Delete it with its turns (usage records stay: they are accounting)."""
        ...

    async def set_summary(
        self,
        conversation_id: str,
        summary: str,
        until: datetime,
        *,
        previous_until: datetime | None,
    ) -> bool:
        """Keep ``summary`` of the turns created up to ``until``, if the summary is still
        the one that ended at ``previous_until`` (two summaries of one conversation at
        once: the second is not stored)."""
        ...

    async def delete_all_of_user(self, user_id: int) -> int:
        """Delete every conversation of the user, in every chat (/forgetme)."""
        ...

    async def archive_overflow(self, user_id: int, keep: int) -> list[ConversationInfo]:
        """Archive the user's oldest inactive conversations (any chat) until at most
        ``keep`` are unarchived; returns the ones archived."""
        ...

    async def find_by_message(
        self, chat_id: int, message_id: int
    ) -> tuple[Conversation, int] | None:
        """The conversation holding a turn shown by this Telegram message, and the turn's
        index in ``turns``."""
        ...

    async def set_message_ids(self, conversation_id: str, message_ids: Sequence[int]) -> bool:
        """Record the Telegram messages of the last assistant turn."""
        ...

    async def replace_last_assistant(
        self, conversation_id: str, turn: Turn, tool_turns: Sequence[Turn] = ()
    ) -> bool:
        """Replace the newest answer (regenerate): its assistant turn and the tool calls and
        results right before it become ``tool_turns`` then ``turn``; False when there is
        no assistant turn."""
        ...

    async def extend_last_assistant(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        """Append ``text`` (and message ids) to the newest assistant turn (continue)."""
        ...

    async def replace_last_exchange(
        self, conversation_id: str, question_message_id: int, turns: Sequence[Turn]
    ) -> bool:
        """Replace the newest question and everything after it (its tool turns and answer)
        with ``turns`` (an edited question asked again), if the newest user turn is the one
        shown by Telegram message ``question_message_id``; False otherwise."""
        ...


@runtime_checkable
class PersonaRepository(Protocol):
    """Users' own personas, and the default persona of a chat (set by bot admins)."""

    async def create(self, owner_id: int, name: str, prompt: str) -> Persona: ...

    async def get(self, persona_id: str) -> Persona | None: ...

    async def delete_all_of(self, owner_id: int) -> int:
        """Delete every persona the user made (/forgetme)."""
        ...

    async def list_for(self, owner_id: int) -> list[Persona]:
        """Oldest first."""
        ...

    async def count_for(self, owner_id: int) -> int: ...

    async def update(
        self, persona_id: str, owner_id: int, *, name: str | None = None, prompt: str | None = None
    ) -> Persona | None:
        """None when it is unknown or not ``owner_id``'s."""
        ...

    async def delete(self, persona_id: str, owner_id: int) -> bool: ...

    async def set_chat_default(self, chat_id: int, persona: str | None) -> None: ...

    async def chat_default(self, chat_id: int) -> str | None: ...


#: How many adjustment ids a spend day remembers (retries come within seconds, not days).
SPEND_RECENT_OPS = 100


@runtime_checkable
class SpendRepository(Protocol):
    """Per-user, per-UTC-day spend counters in USD (reservations included), changed only
    atomically so that parallel chats and several instances can never overspend."""

    async def reserve(
        self,
        user_id: int,
        day: date,
        amount_usd: float,
        limit_usd: float | None,
        op_id: str | None = None,
    ) -> bool:
        """Add ``amount_usd`` to the day's total when the new total stays <= ``limit_usd``
        (``None``: no limit, always added). With ``amount_usd == 0`` it succeeds only while
        the total is < ``limit_usd``. Returns whether it was added; one atomic operation.
        ``op_id`` is remembered as ``adjust`` remembers it: replaying a reservation that
        timed out after it landed as ``adjust(op_id=...)`` counts it once."""
        ...

    async def adjust(
        self, user_id: int, day: date, delta_usd: float, op_id: str | None = None
    ) -> None:
        """Add ``delta_usd`` (negative when a call cost less than reserved); never refused.
        The total never goes below 0. With ``op_id`` the change is applied once however
        often it is sent (a retry after a timeout that did land counts once); the day
        remembers its latest ``SPEND_RECENT_OPS`` ids."""
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
    "ConversationInfo",
    "ConversationRepository",
    "DayUsage",
    "IdentityRepository",
    "InstanceRegistry",
    "ModelUsage",
    "Persona",
    "PersonaRepository",
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
