"""Pick the backend from configuration: MongoDB when a URI is given, memory otherwise."""

from __future__ import annotations

import logging
from typing import Any

from app.storage.base import DEFAULT_MAX_TURNS
from app.storage.breaker import DEFAULT_PROBE_INTERVAL, CircuitBreaker
from app.storage.bundle import Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.guard import guard
from app.storage.memory import (
    DEFAULT_MAX_CONVERSATIONS,
    MemoryAccessRequestRepository,
    MemoryConversationRepository,
    MemoryIdentityRepository,
    MemoryPersonaRepository,
    MemorySpendRepository,
    MemoryUsageRepository,
    MemoryUserRepository,
)
from app.storage.memory.facts import MemoryFactRepository
from app.storage.memory.group_history import MemoryGroupHistoryRepository
from app.storage.memory.pieces import MemoryPieceRepository
from app.storage.memory.tasks import MemoryTaskRepository
from app.storage.memory.tools import MemoryToolRepository

log = logging.getLogger(__name__)


def open_memory_storage(
    *,
    max_turns: int = DEFAULT_MAX_TURNS,
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    sink_options: dict[str, Any] | None = None,
    retention_days: int | None = None,
) -> Storage:
    """The in-memory twin, behind the same breaker and guard as MongoDB, so tests can
    inject an outage (``storage.breaker.inject_outage()``) on it too."""
    breaker = CircuitBreaker(probe_interval=probe_interval, name="storage")
    usage = guard(MemoryUsageRepository(retention_days), breaker)
    return Storage(
        backend="memory",
        users=guard(MemoryUserRepository(), breaker),
        requests=guard(MemoryAccessRequestRepository(), breaker),
        conversations=guard(MemoryConversationRepository(max_turns, max_conversations), breaker),
        usage=usage,
        usage_sink=DurableUsageSink(usage, breaker=breaker, **(sink_options or {})),
        spend=guard(MemorySpendRepository(), breaker),
        identities=guard(MemoryIdentityRepository(), breaker),
        tools=guard(MemoryToolRepository(), breaker),
        breaker=breaker,
        retention_days=retention_days,
        personas=guard(MemoryPersonaRepository(), breaker),
        pieces=guard(MemoryPieceRepository(), breaker),
        facts=guard(MemoryFactRepository(), breaker),
        tasks=guard(MemoryTaskRepository(), breaker),
        group_history=guard(MemoryGroupHistoryRepository(), breaker),
    )


async def open_storage(
    mongodb_uri: str | None,
    *,
    db_name: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
    timeout_ms: int | None = None,
    operation_timeout_ms: int | None = None,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    sink_options: dict[str, Any] | None = None,
    retention_days: int | None = None,
) -> Storage:
    """MongoDB when ``mongodb_uri`` is set (raises if it is unreachable: fail at start-up,
    not on the first message); the in-memory store otherwise, with a loud warning.

    ``db_name`` (MONGODB_DB) is used only when the URI names no database; ``timeout_ms``
    (MONGODB_TIMEOUT_MS) is how long a call runs before the breaker asks whether the
    database is down; ``operation_timeout_ms`` (MONGODB_OPERATION_TIMEOUT_MS) how long a call
    may take on a database that answers;
    ``probe_interval`` (MONGODB_PROBE_INTERVAL) is how often a down database is pinged."""
    if mongodb_uri:
        from app.storage.mongo import open_mongo_storage  # keeps beanie off the memory path
        from app.storage.mongo.connect import DEFAULT_OPERATION_TIMEOUT_MS, DEFAULT_TIMEOUT_MS

        return await open_mongo_storage(
            mongodb_uri,
            db_name=db_name,
            max_turns=max_turns,
            timeout_ms=timeout_ms or DEFAULT_TIMEOUT_MS,
            operation_timeout_ms=operation_timeout_ms or DEFAULT_OPERATION_TIMEOUT_MS,
            probe_interval=probe_interval,
            sink_options=sink_options,
            retention_days=retention_days,
        )
    log.warning(
        "storage: MONGODB_URI is not set, using the IN-MEMORY store: users, approvals, "
        "conversations and usage statistics are LOST on restart"
    )
    return open_memory_storage(
        max_turns=max_turns,
        max_conversations=max_conversations,
        probe_interval=probe_interval,
        sink_options=sink_options,
        retention_days=retention_days,
    )
