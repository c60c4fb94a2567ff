"""Conversation writes that matter are never dropped: a failed one is queued and replayed.

``ReplayingConversations`` wraps the guarded conversation repository. Storing an exchange
(``append``) and the ids of the messages that show it (``set_message_ids``) are tried at
once; when the database is unavailable they are queued in order and replayed by a
background task as soon as the breaker sees the database back (and, before that, with
backoff). While anything is queued for a conversation, later writes to it queue behind, so
the order of its turns is kept, and every read first tries to replay what is queued, so
the next message sees the exchange before it.

A write whose failure is ambiguous (the request may have reached the server: a network
timeout) is checked before it is replayed, so a landed exchange is not stored twice.
The queue lives in this process: it survives an outage, not a crash of the bot; a bot
that stops flushes it for up to ``close``'s timeout and logs at ERROR what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from app.storage.base import Conversation, ConversationInfo, ConversationRepository, Turn
from app.storage.breaker import CircuitBreaker
from app.storage.draining import back_off, stop_task, until_empty
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 10_000
RETRY_INITIAL = 0.2
RETRY_MAX = 10.0


@dataclass
class _Write:
    conversation_id: str  # "key:user:chat:thread" for an append to the active one
    kind: str  # "append" | "append_active" | "message_ids"
    turns: Sequence[Turn] = ()
    message_ids: Sequence[int] = ()
    # The first attempt may have landed (it reached the server): check before replaying.
    maybe_landed: bool = False
    attempts: int = field(default=1)
    key: tuple[int, int, int] | None = None  # append_active: (user, chat, thread)


def maybe_landed(exc: BaseException) -> bool:
    """Could the failed request have been applied? Not when the breaker refused it or no
    server was selected: then nothing was sent."""
    cause = exc.__cause__
    if cause is None:  # refused by the open breaker: never sent
        return False
    return not isinstance(cause, ServerSelectionTimeoutError)


class ReplayingConversations:
    def __init__(
        self,
        inner: ConversationRepository,
        breaker: CircuitBreaker,
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
        retry_initial: float = RETRY_INITIAL,
        retry_max: float = RETRY_MAX,
    ) -> None:
        self._inner = inner
        self._breaker = breaker
        self._max_queued = max_queued
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._queue: deque[_Write] = deque()
        self._lock = asyncio.Lock()  # one replayer at a time keeps the order
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closed = False
        self.queued_total = 0  # writes that had to wait for the database (tests, bench)
        self.replayed = 0
        self.dropped = 0  # queued writes that failed for another reason than an outage

    @property
    def inner(self) -> ConversationRepository:
        return self._inner

    @property
    def pending(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ writes that matter

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        await self._write(_Write(conversation_id, "append", turns=list(turns)))

    async def set_message_ids(self, conversation_id: str, message_ids: Sequence[int]) -> bool:
        return await self._write(
            _Write(conversation_id, "message_ids", message_ids=list(message_ids))
        )

    async def append_to_active(
        self, user_id: int, chat_id: int, thread_id: int, turns: Sequence[Turn]
    ) -> None:
        """Append to the key's active conversation, which could not be read when the answer
        began (the database was unavailable): stored now or as soon as it is back."""
        await self._write(
            _Write(
                f"key:{user_id}:{chat_id}:{thread_id}",
                "append_active",
                turns=list(turns),
                key=(user_id, chat_id, thread_id),
            )
        )

    async def _write(self, write: _Write) -> bool:
        await self._try_replay(write.conversation_id)
        if self._queued_for(write.conversation_id):
            self._enqueue(write)
            return True
        try:
            return await self._apply(write)
        except StorageUnavailable as exc:
            write.maybe_landed = maybe_landed(exc)
            log.warning(
                "conversation %s: %s not stored yet (database unavailable); queued for replay",
                write.conversation_id,
                "message ids" if write.kind == "message_ids" else "exchange",
            )
            self._enqueue(write)
            return True

    async def _apply(self, write: _Write) -> bool:
        if write.kind == "append_active" and write.key is not None:
            conv = await self._inner.active(*write.key)
            if write.maybe_landed and await self._landed(write, conv):
                return True
            await self._inner.append(conv.id, write.turns)
            return True
        if write.kind == "append":
            if write.maybe_landed and await self._landed(write):
                return True
            await self._inner.append(write.conversation_id, write.turns)
            return True
        return await self._inner.set_message_ids(write.conversation_id, write.message_ids)

    async def _landed(self, write: _Write, conv: Conversation | None = None) -> bool:
        if conv is None:
            conv = await self._inner.get(write.conversation_id)
        if conv is None:
            return True  # deleted meanwhile: nothing to store it in
        tail = conv.turns[-len(write.turns) :] if write.turns else []
        return [(t.role, t.content) for t in tail] == [(t.role, t.content) for t in write.turns]

    # ------------------------------------------------------------------ queue

    def _queued_for(self, conversation_id: str | None) -> bool:
        if conversation_id is None:
            return bool(self._queue)
        return any(w.conversation_id == conversation_id for w in self._queue)

    def _enqueue(self, write: _Write) -> None:
        if len(self._queue) >= self._max_queued:
            # Bounded memory: past this the caller hears about the outage (and says so).
            raise StorageUnavailable(
                f"conversation writes: {len(self._queue)} queued for replay, queue full"
            )
        self._queue.append(write)
        self.queued_total += 1
        self._ensure_task()
        self._wakeup.set()

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._replay_loop(), name="conversation-replay"
            )

    async def _try_replay(self, conversation_id: str | None = None) -> None:
        """Replay what is queued (for one conversation, or all) before a read or a new
        write; an outage leaves it queued."""
        if not self._queued_for(conversation_id):
            return
        with contextlib.suppress(StorageUnavailable):
            await self._replay(conversation_id)

    async def _replay(self, conversation_id: str | None = None) -> None:
        """Apply queued writes oldest first; raises StorageUnavailable when one fails (it
        stays queued, first)."""
        async with self._lock:
            for write in list(self._queue):
                if conversation_id is not None and write.conversation_id != conversation_id:
                    continue
                try:
                    await self._apply(write)
                except StorageUnavailable as exc:
                    write.attempts += 1
                    write.maybe_landed = write.maybe_landed or maybe_landed(exc)
                    raise
                except (PyMongoError, ValueError, TypeError) as exc:
                    # Not an outage: it would fail the same way forever, and block every
                    # read behind it. Said loudly, and given up.
                    log.error(
                        "conversation %s: a queued write cannot be stored; dropped",
                        write.conversation_id,
                        exc_info=exc,
                    )
                    with contextlib.suppress(ValueError):
                        self._queue.remove(write)
                    self.dropped += 1
                    continue
                with contextlib.suppress(ValueError):
                    self._queue.remove(write)
                self.replayed += 1
                log.info(
                    "conversation %s: queued %s stored (attempt %d)",
                    write.conversation_id,
                    "message ids" if write.kind == "message_ids" else "exchange",
                    write.attempts,
                )

    async def _replay_loop(self) -> None:
        delay = self._retry_initial
        while not self._closed:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                await self._replay()
            except StorageUnavailable:
                await back_off(self._breaker, delay)
                delay = min(delay * 2, self._retry_max)
            else:
                delay = self._retry_initial

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Replay everything queued now; True when nothing is left."""
        if not self._queue:
            return True
        self._ensure_task()
        self._wakeup.set()
        return await until_empty(lambda: bool(self._queue), timeout)

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        flushed = await self.flush(timeout)
        self._closed = True
        task, self._task = self._task, None
        await stop_task(task, self._wakeup)
        if not flushed:
            log.error(
                "conversation writes: %d queued write(s) not stored at shutdown", len(self._queue)
            )

    # ------------------------------------------------------------------ the rest: replay first

    async def active(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
    ) -> Conversation:
        await self._try_replay()
        return await self._inner.active(user_id, chat_id, thread_id, model=model, persona=persona)

    async def get(self, conversation_id: str) -> Conversation | None:
        await self._try_replay(conversation_id)
        return await self._inner.get(conversation_id)

    async def start_new(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
        incognito: bool = False,
    ) -> Conversation:
        await self._try_replay()
        return await self._inner.start_new(
            user_id,
            chat_id,
            thread_id,
            model=model,
            persona=persona,
            title=title,
            incognito=incognito,
        )

    async def add_aside(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
    ) -> Conversation:
        return await self._inner.add_aside(
            user_id, chat_id, thread_id, model=model, persona=persona, title=title
        )

    async def activate(self, conversation_id: str) -> Conversation | None:
        await self._try_replay(conversation_id)
        return await self._inner.activate(conversation_id)

    async def list_page(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        archived: bool = False,
        offset: int = 0,
        limit: int = 8,
    ) -> list[ConversationInfo]:
        await self._try_replay()
        return await self._inner.list_page(
            user_id, chat_id, thread_id, archived=archived, offset=offset, limit=limit
        )

    async def count(
        self, user_id: int, chat_id: int, thread_id: int = 0, *, archived: bool = False
    ) -> int:
        return await self._inner.count(user_id, chat_id, thread_id, archived=archived)

    async def search(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int,
        words: Sequence[str],
        *,
        limit: int = 50,
    ) -> list[ConversationInfo]:
        await self._try_replay()
        return await self._inner.search(user_id, chat_id, thread_id, words, limit=limit)

    async def rename(self, conversation_id: str, title: str) -> bool:
        return await self._inner.rename(conversation_id, title)

    async def replace_title(self, conversation_id: str, old: str | None, new: str) -> bool:
        return await self._inner.replace_title(conversation_id, old, new)

    async def set_model(self, conversation_id: str, model: str | None) -> bool:
        return await self._inner.set_model(conversation_id, model)

    async def set_persona(self, conversation_id: str, persona: str | None) -> bool:
        return await self._inner.set_persona(conversation_id, persona)

    async def delete(self, conversation_id: str) -> bool:
        await self._try_replay(conversation_id)
        return await self._inner.delete(conversation_id)

    async def archive_overflow(self, user_id: int, keep: int) -> list[ConversationInfo]:
        return await self._inner.archive_overflow(user_id, keep)

    async def find_by_message(
        self, chat_id: int, message_id: int
    ) -> tuple[Conversation, int] | None:
        await self._try_replay()
        return await self._inner.find_by_message(chat_id, message_id)

    async def replace_last_assistant(
        self, conversation_id: str, turn: Turn, tool_turns: Sequence[Turn] = ()
    ) -> bool:
        await self._replay_first(conversation_id)
        return await self._inner.replace_last_assistant(conversation_id, turn, tool_turns)

    async def extend_last_assistant(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        await self._replay_first(conversation_id)
        return await self._inner.extend_last_assistant(conversation_id, text, message_ids)

    async def replace_last_exchange(
        self, conversation_id: str, question_message_id: int, turns: Sequence[Turn]
    ) -> bool:
        await self._replay_first(conversation_id)
        return await self._inner.replace_last_exchange(conversation_id, question_message_id, turns)

    async def set_summary(
        self,
        conversation_id: str,
        summary: str,
        until: datetime,
        *,
        previous_until: datetime | None,
    ) -> bool:
        return await self._inner.set_summary(
            conversation_id, summary, until, previous_until=previous_until
        )

    async def delete_all_of_user(self, user_id: int) -> int:
        await self._try_replay()
        return await self._inner.delete_all_of_user(user_id)

    async def _replay_first(self, conversation_id: str) -> None:
        """Edits of the last answer need the queued turns stored first: an outage here is
        the caller's outage."""
        if self._queued_for(conversation_id):
            await self._replay(conversation_id)
