"""Persistence for the bot: one contract (``base``), a MongoDB and an in-memory backend."""

from app.storage.base import (
    AccessRequest,
    AccessRequestRepository,
    AdminCard,
    Backend,
    Conversation,
    ConversationRepository,
    DayUsage,
    ModelUsage,
    RequestStatus,
    StatsWindow,
    Storage,
    Turn,
    UsageBucket,
    UsageRecord,
    UsageRepository,
    UsageTotals,
    UserRecord,
    UserRepository,
    UserUsage,
)
from app.storage.durable_sink import DurableUsageSink
from app.storage.factory import make_fsm_storage, open_memory_storage, open_storage
from app.storage.uri import mask_uri

__all__ = [
    "AccessRequest",
    "AccessRequestRepository",
    "AdminCard",
    "Backend",
    "Conversation",
    "ConversationRepository",
    "DayUsage",
    "DurableUsageSink",
    "ModelUsage",
    "RequestStatus",
    "StatsWindow",
    "Storage",
    "Turn",
    "UsageBucket",
    "UsageRecord",
    "UsageRepository",
    "UsageTotals",
    "UserRecord",
    "UserRepository",
    "UserUsage",
    "make_fsm_storage",
    "mask_uri",
    "open_memory_storage",
    "open_storage",
]
