"""Persistence for the bot: one contract (``base``), a MongoDB and an in-memory backend."""

from app.storage.base import (
    AccessRequest,
    AccessRequestRepository,
    AdminCard,
    Backend,
    Conversation,
    ConversationInfo,
    ConversationRepository,
    DayUsage,
    IdentityRepository,
    ModelUsage,
    Persona,
    PersonaRepository,
    RequestStatus,
    SpendRepository,
    StatsWindow,
    Turn,
    UsageBucket,
    UsageRecord,
    UsageRepository,
    UsageTotals,
    UserPrefs,
    UserRecord,
    UserRepository,
    UserUsage,
)
from app.storage.breaker import CircuitBreaker
from app.storage.bundle import Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.errors import StorageUnavailable
from app.storage.factory import open_memory_storage, open_storage
from app.storage.models import KindUsage
from app.storage.uri import mask_uri, resolve_db_name

__all__ = [
    "AccessRequest",
    "AccessRequestRepository",
    "AdminCard",
    "Backend",
    "CircuitBreaker",
    "Conversation",
    "ConversationInfo",
    "ConversationRepository",
    "DayUsage",
    "DurableUsageSink",
    "IdentityRepository",
    "KindUsage",
    "ModelUsage",
    "Persona",
    "PersonaRepository",
    "RequestStatus",
    "SpendRepository",
    "StatsWindow",
    "Storage",
    "StorageUnavailable",
    "Turn",
    "UsageBucket",
    "UsageRecord",
    "UsageRepository",
    "UsageTotals",
    "UserPrefs",
    "UserRecord",
    "UserRepository",
    "UserUsage",
    "mask_uri",
    "open_memory_storage",
    "open_storage",
    "resolve_db_name",
]
