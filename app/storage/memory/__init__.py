"""In-memory twin of the MongoDB storage: same contract, same answers, nothing persists."""

from app.storage.memory.repos import (
    MemoryAccessRequestRepository,
    MemoryConversationRepository,
    MemoryUserRepository,
)
from app.storage.memory.usage import MemoryUsageRepository

__all__ = [
    "MemoryAccessRequestRepository",
    "MemoryConversationRepository",
    "MemoryUsageRepository",
    "MemoryUserRepository",
]
