"""The ``Storage`` bundle: every repository of one backend, the durable usage sink, the
circuit breaker and the statistics read from rollups. Build it with ``open_storage``."""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

from app.storage.base import (
    AccessRequestRepository,
    Backend,
    ConversationRepository,
    IdentityRepository,
    InstanceRegistry,
    PersonaRepository,
    SpendRepository,
    UsageRepository,
    UserRepository,
)
from app.storage.breaker import CircuitBreaker
from app.storage.facts import FactRepository
from app.storage.group_history import GroupHistoryRepository
from app.storage.pending_spend import PendingSpend
from app.storage.pieces import PieceRepository
from app.storage.tasks import TaskRepository
from app.storage.tools import ToolRepository
from app.storage.write_behind import ReplayingConversations
from llmdoor import UsageSink


class Storage:
    """Everything the bot persists, with one backend behind it. Build with ``open_storage``."""

    def __init__(
        self,
        *,
        backend: Backend,
        users: UserRepository,
        requests: AccessRequestRepository,
        conversations: ConversationRepository,
        usage: UsageRepository,
        usage_sink: DurableSinkLike,
        spend: SpendRepository,
        identities: IdentityRepository,
        closer: _Closer | None = None,
        breaker: CircuitBreaker | None = None,
        retention_days: int | None = None,
        instances: InstanceRegistry | None = None,
        personas: PersonaRepository | None = None,
        tools: ToolRepository | None = None,
        pieces: PieceRepository | None = None,
        facts: FactRepository | None = None,
        tasks: TaskRepository | None = None,
        group_history: GroupHistoryRepository | None = None,
    ) -> None:
        self.backend: Backend = backend
        # Every repository above goes through it (see app.storage.guard); always present
        # when built by open_storage.
        self.breaker = breaker if breaker is not None else CircuitBreaker(name=backend)
        self.users = users
        self.requests = requests
        # An exchange that can't be stored now is queued and replayed, never dropped.
        if not isinstance(conversations, ReplayingConversations):
            conversations = ReplayingConversations(conversations, self.breaker)
        self.conversation_writes = conversations
        self.conversations: ConversationRepository = conversations
        if personas is None:  # a bundle built by hand (tests): personas kept in memory
            from app.storage.memory.personas import MemoryPersonaRepository

            personas = MemoryPersonaRepository()
        self.personas = personas
        self.usage = usage
        # /stats reads these rollup figures; raw ``usage`` stays for details and export.
        from app.storage.usage_stats import RollupStats

        self.stats = RollupStats(usage, retention_days)
        self.spend = spend
        # Spend that could not be written now: counted later, before the user's next call.
        self.pending_spend = PendingSpend(spend, self.breaker)
        # Live bot instances (MongoDB only): they share one Telegram send budget.
        self.instances = instances
        self.identities = identities
        # Tool calls per tool (/stats) and the tool switches (/tools).
        if tools is None:
            from app.storage.memory.tools import MemoryToolRepository

            tools = MemoryToolRepository()
        self.tools: ToolRepository = tools
        # Turns in pieces being collected (app.services.input): shared by the instances.
        if pieces is None:
            from app.storage.memory.pieces import MemoryPieceRepository

            pieces = MemoryPieceRepository()
        self.pieces: PieceRepository = pieces
        # Personal memory (/remember, /memory).
        if facts is None:
            from app.storage.memory.facts import MemoryFactRepository

            facts = MemoryFactRepository()
        self.facts: FactRepository = facts
        # Reminders and scheduled prompts (app.services.schedule).
        if tasks is None:
            from app.storage.memory.tasks import MemoryTaskRepository

            tasks = MemoryTaskRepository()
        self.tasks: TaskRepository = tasks
        # What was said in groups lately (/catchup; app.services.groups).
        if group_history is None:
            from app.storage.memory.group_history import MemoryGroupHistoryRepository

            group_history = MemoryGroupHistoryRepository()
        self.group_history: GroupHistoryRepository = group_history
        # The sink to hand to llmdoor: a failed write is buffered and retried, never lost.
        self.usage_sink = usage_sink
        self._closer = closer

    @property
    def available(self) -> bool:
        """False while the circuit breaker holds the database for down (health checks)."""
        return self.breaker.available

    async def drain_writes(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Store every queued write now (exchanges, deferred spend, usage); True when
        nothing is left waiting."""
        conversations = await self.conversation_writes.flush(timeout)
        spend = await self.pending_spend.flush(timeout)
        usage = await self.usage_sink.flush(timeout)
        return conversations and spend and usage

    async def close(self) -> None:
        """Flush queued writes and buffered usage, then release the backend (idempotent)."""
        # Side by side: a database that is down costs one flush timeout, not three.
        await asyncio.gather(
            self.conversation_writes.close(), self.pending_spend.close(), self.usage_sink.close()
        )
        await self.breaker.aclose()
        if self._closer is not None:
            closer, self._closer = self._closer, None
            await closer()


class _Closer(Protocol):
    async def __call__(self) -> None: ...


@runtime_checkable
class DurableSinkLike(UsageSink, Protocol):
    @property
    def buffered(self) -> int: ...

    @property
    def written(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    async def flush(self, timeout: float | None = None) -> bool: ...  # noqa: ASYNC109

    async def close(self, timeout: float | None = None) -> None: ...  # noqa: ASYNC109
