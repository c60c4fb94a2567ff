"""In-memory twin of the MongoDB storage: same contract, same answers, nothing persists."""

from app.storage.memory.conversations import (
    DEFAULT_MAX_CONVERSATIONS,
    MemoryConversationRepository,
)
from app.storage.memory.personas import MemoryPersonaRepository
from app.storage.memory.repos import MemoryAccessRequestRepository, MemoryUserRepository
from app.storage.memory.spend import MemoryIdentityRepository, MemorySpendRepository
from app.storage.memory.usage import MemoryUsageRepository

__all__ = [
    "DEFAULT_MAX_CONVERSATIONS",
    "MemoryAccessRequestRepository",
    "MemoryConversationRepository",
    "MemoryIdentityRepository",
    "MemoryPersonaRepository",
    "MemorySpendRepository",
    "MemoryUsageRepository",
    "MemoryUserRepository",
]
