"""Open the MongoDB storage: one client, Beanie initialised, indexes created at start-up."""

from __future__ import annotations

import logging
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.storage.base import DEFAULT_MAX_TURNS, Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.mongo.documents import DOCUMENT_MODELS
from app.storage.mongo.repos import (
    MongoAccessRequestRepository,
    MongoConversationRepository,
    MongoUserRepository,
)
from app.storage.mongo.usage import MongoUsageRepository
from app.storage.uri import db_name_from_uri, mask_uri

log = logging.getLogger(__name__)

# Fail a write in seconds, not pymongo's default 30 s server selection: the usage sink
# buffers and retries, and a chat handler should not hang on a dead database.
CLIENT_OPTIONS: dict[str, Any] = {
    "tz_aware": True,
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "appname": "tg-llm-bot",
}


def make_client(uri: str, **overrides: Any) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, **(CLIENT_OPTIONS | overrides))


async def open_mongo_storage(
    uri: str,
    *,
    db_name: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    client_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
) -> Storage:
    name = db_name or db_name_from_uri(uri)
    client = make_client(uri, **(client_options or {}))
    try:
        await init_beanie(database=client[name], document_models=DOCUMENT_MODELS)
    except BaseException:
        await client.close()
        raise
    log.info("storage: MongoDB at %s, database %r", mask_uri(uri), name)
    usage = MongoUsageRepository()
    return Storage(
        backend="mongodb",
        users=MongoUserRepository(),
        requests=MongoAccessRequestRepository(),
        conversations=MongoConversationRepository(max_turns),
        usage=usage,
        usage_sink=DurableUsageSink(usage, **(sink_options or {})),
        closer=client.close,
    )
