"""Beanie documents: the collections' schema and the indexes the bot's queries need.

``init_beanie`` creates these indexes at start-up. Repositories use the documents for
inserts and the underlying PyMongo collections for atomic updates and aggregations.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from app.storage.base import AdminCard, RequestStatus, Turn, UserPrefs, utc_ms


class UserDoc(Document):
    id: int  # type: ignore[assignment]  # the Telegram user id is the _id: upserts need no lookup
    username: str | None = None
    username_lower: str | None = None  # for case-insensitive lookup by an index
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    language: str | None = None
    approved: bool = False
    model: str | None = None
    daily_budget_usd: float | None = None
    prefs: UserPrefs = Field(default_factory=UserPrefs)
    first_seen: datetime = Field(default_factory=utc_ms)
    last_seen: datetime = Field(default_factory=utc_ms)

    class Settings:
        name = "users"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("username_lower", ASCENDING)], name="username_lower"),
            IndexModel([("approved", ASCENDING)], name="approved"),
        ]


class AccessRequestDoc(Document):
    user_id: int
    username: str | None = None
    full_name: str | None = None
    status: RequestStatus = "pending"
    created_at: datetime = Field(default_factory=utc_ms)
    decided_by: int | None = None
    decided_at: datetime | None = None
    cards: list[AdminCard] = Field(default_factory=list)
    # Set by claim_delivery: who sends the admin cards (one instance, retried when stale).
    delivery_claimed_at: datetime | None = None

    class Settings:
        name = "access_requests"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
            IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="user_created"),
            # At most one pending request per user, so concurrent presses coalesce.
            IndexModel(
                [("user_id", ASCENDING)],
                name="one_pending_per_user",
                unique=True,
                partialFilterExpression={"status": "pending"},
            ),
        ]


class ConversationDoc(Document):
    user_id: int
    chat_id: int
    active: bool = True
    turns: list[Turn] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_ms)
    updated_at: datetime = Field(default_factory=utc_ms)

    class Settings:
        name = "conversations"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [("user_id", ASCENDING), ("chat_id", ASCENDING), ("active", ASCENDING)],
                name="user_chat_active",
            ),
            # At most one active conversation per (user, chat).
            IndexModel(
                [("user_id", ASCENDING), ("chat_id", ASCENDING)],
                name="one_active_per_chat",
                unique=True,
                partialFilterExpression={"active": True},
            ),
        ]


class UsageDoc(Document):
    user_id: int | None
    model: str
    shortcut: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    cost_estimated: bool = False  # tokens and cost counted by us: the vendor reported none
    cost_fallback: bool = False  # priced with the operator's fallback price
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    outcome: str = "ok"
    error_kind: str | None = None
    streamed: bool = False
    attempts: int = 1
    kind: str = "chat"
    created_at: datetime = Field(default_factory=utc_ms)

    class Settings:
        name = "usage"
        # "created" (on created_at, a TTL index when retention is set) is managed by
        # app.storage.mongo.rollups.ensure_retention: its options change with the setting.
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("user_id", ASCENDING), ("created_at", ASCENDING)], name="user_created"),
            IndexModel([("model", ASCENDING), ("created_at", ASCENDING)], name="model_created"),
            IndexModel(
                [("outcome", ASCENDING), ("created_at", DESCENDING)], name="outcome_created"
            ),
        ]


DOCUMENT_MODELS: list[type[Document]] = [UserDoc, AccessRequestDoc, ConversationDoc, UsageDoc]
