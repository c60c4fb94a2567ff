"""Pick the backend from configuration: MongoDB when a URI is given, memory otherwise."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from app.storage.base import DEFAULT_MAX_TURNS, Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.fsm import ResilientFSMStorage
from app.storage.memory import (
    MemoryAccessRequestRepository,
    MemoryConversationRepository,
    MemoryUsageRepository,
    MemoryUserRepository,
)
from app.storage.uri import db_name_from_uri, mask_uri

log = logging.getLogger(__name__)

FSM_COLLECTION = "fsm_states"


def open_memory_storage(
    *, max_turns: int = DEFAULT_MAX_TURNS, sink_options: dict[str, Any] | None = None
) -> Storage:
    usage = MemoryUsageRepository()
    return Storage(
        backend="memory",
        users=MemoryUserRepository(),
        requests=MemoryAccessRequestRepository(),
        conversations=MemoryConversationRepository(max_turns),
        usage=usage,
        usage_sink=DurableUsageSink(usage, **(sink_options or {})),
    )


async def open_storage(
    mongodb_uri: str | None,
    *,
    db_name: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    sink_options: dict[str, Any] | None = None,
) -> Storage:
    """MongoDB when ``mongodb_uri`` is set (raises if it is unreachable: fail at start-up,
    not on the first message); the in-memory store otherwise, with a loud warning."""
    if mongodb_uri:
        from app.storage.mongo import open_mongo_storage  # keeps beanie off the memory path

        return await open_mongo_storage(
            mongodb_uri, db_name=db_name, max_turns=max_turns, sink_options=sink_options
        )
    log.warning(
        "storage: MONGODB_URI is not set, using the IN-MEMORY store: users, approvals, "
        "conversations and usage statistics are LOST on restart"
    )
    return open_memory_storage(max_turns=max_turns, sink_options=sink_options)


def make_fsm_storage(mongodb_uri: str | None, *, db_name: str | None = None) -> BaseStorage:
    """aiogram FSM/dialog state: in MongoDB (so any bot instance can serve any update) when
    configured, else in memory. The returned storage owns its client; the Dispatcher closes
    it on shutdown (``await dp.storage.close()``)."""
    if not mongodb_uri:
        return MemoryStorage()
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.pymongo import PyMongoStorage

    from app.storage.mongo.connect import make_client

    name = db_name or db_name_from_uri(mongodb_uri)
    log.info("fsm storage: MongoDB at %s, %s.%s", mask_uri(mongodb_uri), name, FSM_COLLECTION)
    # with_destiny: aiogram-dialog keeps each dialog stack under its own "destiny"; without
    # it the stacks of all dialogs share one key and a dialog opened on one instance breaks
    # when another instance handles its next button press.
    # Wrapped so that a database outage costs dialog state, not every chat message.
    return ResilientFSMStorage(
        PyMongoStorage(
            make_client(mongodb_uri),
            key_builder=DefaultKeyBuilder(with_destiny=True),
            db_name=name,
            collection_name=FSM_COLLECTION,
        )
    )
