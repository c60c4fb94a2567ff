"""Recording what is said in groups, behind the answer path.

``note`` is synchronous and only queues the message: the group's ordinary message path
never waits for the database. One background task writes what is queued, in batches.
A write that fails because the database is down (or the breaker holds it down) is
dropped: history is a convenience, the answer is not. The queue is bounded, so a slow
database costs the oldest unwritten messages, never memory."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.storage.draining import stop_task, until_empty
from app.storage.errors import StorageUnavailable
from app.storage.group_history import GroupHistoryRepository, GroupMessage

#: What is kept of one message: a catch-up reads its first 1 000 characters (and marks a
#: longer one as cut), so the rest of a 4 096-character message would be stored for nothing.
KEPT_CHARS = 1_001

log = logging.getLogger(__name__)

#: Messages waiting to be written; beyond this the oldest are dropped.
DEFAULT_MAX_QUEUED = 2_000
#: Messages written by one call.
BATCH = 100
#: How long the writer waits for more before it writes: a burst becomes one batch (one
#: call and one trim per chat), not one call per message.
LINGER = 0.05

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HeardMessage:
    """A group message as the bot saw it (plain data; the bot layer reads Telegram)."""

    chat_id: int
    thread_id: int
    message_id: int
    sender_id: int
    sender_name: str
    text: str


class GroupHistory:
    def __init__(
        self,
        repository: GroupHistoryRepository,
        *,
        size: int,
        hours: float,
        clock: Clock = utcnow,
        max_queued: int = DEFAULT_MAX_QUEUED,
        linger: float = LINGER,
    ) -> None:
        self._linger = linger
        self._repository = repository
        self.size = size
        self._ttl = timedelta(hours=hours)
        self.hours = hours
        self.clock = clock  # injectable: tests move time instead of sleeping
        # What was heard and when: made into GroupMessage by the writer, off the hot path.
        self._queue: deque[tuple[HeardMessage, datetime]] = deque(maxlen=max_queued)
        self._writing = 0  # messages taken off the queue, being written
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # lost to an outage or a full queue (tests, diagnostics)

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def now(self) -> datetime:
        return self.clock()

    def note(self, heard: HeardMessage) -> None:
        """Queue ``heard`` for writing; returns at once."""
        if not self.enabled:
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the oldest queued gives way
        self._queue.append((heard, self.clock()))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="group-history")

    def _stored(self, heard: HeardMessage, at: datetime) -> GroupMessage:
        return GroupMessage(
            chat_id=heard.chat_id,
            thread_id=heard.thread_id,
            message_id=heard.message_id,
            sender_id=heard.sender_id,
            sender_name=heard.sender_name,
            text=heard.text[:KEPT_CHARS],
            at=at,
            expires_at=at + self._ttl,
        )

    async def _write(self) -> None:
        if self._linger:
            await asyncio.sleep(self._linger)
        while self._queue:
            taken = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            batch = [self._stored(heard, at) for heard, at in taken]
            self._writing = len(batch)
            try:
                await self._repository.add(batch, keep=self.size)
            except StorageUnavailable as exc:
                self.dropped += len(batch)
                log.info("group history: %d messages not kept (%s)", len(batch), exc)
            finally:
                self._writing = 0

    @property
    def pending(self) -> int:
        return len(self._queue) + self._writing

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until what is queued is written (or dropped); True when nothing waits."""
        return await until_empty(lambda: self.pending > 0, timeout)

    async def recent(self, chat_id: int, thread_id: int | None) -> list[GroupMessage]:
        """What the chat (topic) said lately, oldest first."""
        return await self._repository.recent(
            chat_id, thread_id=thread_id, now=self.clock(), limit=self.size
        )

    async def close(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109
        await self.flush(timeout)
        await stop_task(self._task, None)
