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
from llmdoor import CallKind


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
    thread_id: int = 0  # the forum topic; 0 outside topics
    active: bool = True
    archived: bool = False
    title: str | None = None
    model: str | None = None
    persona: str | None = None
    incognito: bool = False
    turns: list[Turn] = Field(default_factory=list)
    summary: str | None = None
    summary_until: datetime | None = None
    # What search matches (app.storage.words): ``words`` is every word of every message
    # ever stored (``msg_words``) plus the current title's (``title_words``), rebuilt when
    # the title changes.
    words: list[str] = Field(default_factory=list)
    msg_words: list[str] = Field(default_factory=list)
    title_words: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_ms)
    updated_at: datetime = Field(default_factory=utc_ms)

    class Settings:
        name = "conversations"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("chat_id", ASCENDING),
                    ("thread_id", ASCENDING),
                    ("active", ASCENDING),
                ],
                name="user_key_active",
            ),
            # At most one active conversation per (user, chat, thread).
            IndexModel(
                [("user_id", ASCENDING), ("chat_id", ASCENDING), ("thread_id", ASCENDING)],
                name="one_active_per_key",
                unique=True,
                partialFilterExpression={"active": True},
            ),
            # /chats pages and searches: the user's conversations of one key, newest first.
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("chat_id", ASCENDING),
                    ("thread_id", ASCENDING),
                    ("archived", ASCENDING),
                    ("updated_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_key_updated",
            ),
            # Search: every query word must be in ``words`` (a multikey index).
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("chat_id", ASCENDING),
                    ("thread_id", ASCENDING),
                    ("words", ASCENDING),
                ],
                name="user_key_words",
            ),
            # The per-user cap: the oldest inactive, unarchived conversations.
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("archived", ASCENDING),
                    ("active", ASCENDING),
                    ("updated_at", ASCENDING),
                ],
                name="user_archive",
            ),
            # A reply to an answer finds its conversation and turn.
            IndexModel(
                [("chat_id", ASCENDING), ("turns.message_ids", ASCENDING)],
                name="chat_message_ids",
            ),
        ]


class PersonaDoc(Document):
    owner_id: int
    name: str
    prompt: str
    created_at: datetime = Field(default_factory=utc_ms)

    class Settings:
        name = "personas"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel([("owner_id", ASCENDING), ("_id", ASCENDING)], name="owner"),
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
    kind: CallKind = CallKind.CHAT
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


DOCUMENT_MODELS: list[type[Document]] = [
    UserDoc,
    AccessRequestDoc,
    ConversationDoc,
    PersonaDoc,
    UsageDoc,
]
