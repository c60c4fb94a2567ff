"""FSM/dialog storage that survives a database outage, and the factory that picks it
(MongoDB, so any instance can serve any update) or aiogram's memory storage.

aiogram-dialog reads its dialog stack from the FSM storage on *every* message and writes it
back afterwards, including plain chat messages that have nothing to do with a dialog. With
the state in MongoDB, a database outage would therefore turn every update into an error,
although chatting needs no FSM state at all. This wrapper degrades instead: a failed read
looks like "no state" (an open dialog then behaves as expired), a failed write is logged and
skipped. While the circuit breaker holds the database for down, nothing waits on the
network at all. Everything works normally again as soon as the probe sees the database.
Only outages degrade: a programming error still raises.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from app.storage.breaker import CircuitBreaker
from app.storage.errors import StorageUnavailable
from app.storage.guard import guarded_call, translate

log = logging.getLogger(__name__)

StateType = str | State | None
T = TypeVar("T")

# Read by the breaker's probe when it has none of its own: any answer means "up".
_PROBE_KEY = StorageKey(bot_id=0, chat_id=0, user_id=0)


class ResilientFSMStorage(BaseStorage):
    def __init__(self, inner: BaseStorage, breaker: CircuitBreaker | None = None) -> None:
        """Share the repositories' ``breaker`` (one view of one database); without one the
        storage gets its own, probing by reading a state through ``inner``."""
        self.inner = inner
        self._own_breaker = breaker is None
        self.breaker = breaker or CircuitBreaker(self._probe, name="fsm storage")
        # For inspection (dialogs need a destiny-aware key builder in a shared storage).
        self.key_builder = getattr(inner, "_key_builder", None)
        self.failures = 0

    async def _probe(self) -> None:
        await translate(self.inner.get_state(_PROBE_KEY), "fsm probe")

    async def _run(
        self, op: str, key: StorageKey, call: Callable[[], Awaitable[T]], fallback: T
    ) -> T:
        was_available = self.breaker.available
        try:
            return await guarded_call(self.breaker, f"fsm.{op}", call)
        except StorageUnavailable as exc:
            self.failures += 1
            # One warning per outage, not one per update while the breaker is open.
            log.log(
                logging.WARNING if was_available else logging.DEBUG,
                "fsm storage: %s for user %s failed (%s); continuing without dialog state",
                op,
                key.user_id,
                exc,
            )
            return fallback

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._run("set_state", key, lambda: self.inner.set_state(key, state), None)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._run("get_state", key, lambda: self.inner.get_state(key), None)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._run("set_data", key, lambda: self.inner.set_data(key, data), None)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._run("get_data", key, lambda: self.inner.get_data(key), {})

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self._run(
            "update_data", key, lambda: self.inner.update_data(key, data), dict(data)
        )

    async def close(self) -> None:
        if self._own_breaker:
            await self.breaker.aclose()
        await self.inner.close()


FSM_COLLECTION = "fsm_states"


def make_fsm_storage(
    mongodb_uri: str | None,
    *,
    db_name: str | None = None,
    breaker: CircuitBreaker | None = None,
    timeout_ms: int | None = None,
    operation_timeout_ms: int | None = None,
) -> BaseStorage:
    """aiogram FSM/dialog state: in MongoDB (so any bot instance can serve any update) when
    configured, else in memory. The returned storage owns its client; the Dispatcher closes
    it on shutdown (``await dp.storage.close()``).

    Pass ``breaker=storage.breaker`` so that dialog state and the repositories share one
    view of the database; without it the FSM storage gets a breaker of its own."""
    if not mongodb_uri:
        return MemoryStorage()
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.pymongo import PyMongoStorage

    from app.storage.mongo.connect import (
        DEFAULT_OPERATION_TIMEOUT_MS,
        DEFAULT_TIMEOUT_MS,
        log_database,
        make_client,
    )
    from app.storage.uri import resolve_db_name

    name = resolve_db_name(mongodb_uri, db_name)
    log_database(mongodb_uri, name, db_name, what="fsm storage")
    client = make_client(
        mongodb_uri,
        timeout_ms=timeout_ms or DEFAULT_TIMEOUT_MS,
        operation_timeout_ms=operation_timeout_ms or DEFAULT_OPERATION_TIMEOUT_MS,
    )
    # with_destiny: aiogram-dialog keeps each dialog stack under its own "destiny"; without
    # it the stacks of all dialogs share one key and a dialog opened on one instance breaks
    # when another instance handles its next button press.
    # Wrapped so that a database outage costs dialog state, not every chat message.
    storage = ResilientFSMStorage(
        PyMongoStorage(
            client,
            key_builder=DefaultKeyBuilder(with_destiny=True),
            db_name=name,
            collection_name=FSM_COLLECTION,
        ),
        breaker,
    )
    if breaker is None:  # its own breaker judges a stalled call as the repositories' does
        storage.breaker.judge_after = (timeout_ms or DEFAULT_TIMEOUT_MS) / 1000
    return storage
