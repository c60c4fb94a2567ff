"""In-memory twin of the MongoDB storage: same contract, same answers, nothing persists."""

from app.storage.memory.repos import (
    DEFAULT_MAX_CONVERSATIONS,
    MemoryAccessRequestRepository,
    MemoryConversationRepository,
    MemoryUserRepository,
)
from app.storage.memory.spend import MemoryIdentityRepository, MemorySpendRepository
from app.storage.memory.usage import MemoryUsageRepository

__all__ = [
    "DEFAULT_MAX_CONVERSATIONS",
    "MemoryAccessRequestRepository",
    "MemoryConversationRepository",
    "MemoryIdentityRepository",
    "MemorySpendRepository",
    "MemoryUsageRepository",
    "MemoryUserRepository",
]
