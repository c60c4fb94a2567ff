"""Open the MongoDB storage: one client, Beanie initialised, indexes created at start-up,
every repository behind the circuit breaker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.storage.base import DEFAULT_MAX_TURNS
from app.storage.breaker import DEFAULT_PROBE_INTERVAL, CircuitBreaker
from app.storage.bundle import Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.errors import StorageUnavailable
from app.storage.guard import guard, translate
from app.storage.mongo.conversations import MongoConversationRepository
from app.storage.mongo.documents import DOCUMENT_MODELS
from app.storage.mongo.facts import MongoFactRepository
from app.storage.mongo.instances import MongoInstanceRegistry
from app.storage.mongo.personas import MongoPersonaRepository
from app.storage.mongo.pieces import MongoPieceRepository
from app.storage.mongo.repos import MongoUserRepository
from app.storage.mongo.requests import MongoAccessRequestRepository
from app.storage.mongo.spend import MongoIdentityRepository, MongoSpendRepository
from app.storage.mongo.tasks import MongoTaskRepository
from app.storage.mongo.tools import MongoToolRepository
from app.storage.mongo.usage import MongoUsageRepository
from app.storage.uri import DEFAULT_DB_NAME, db_name_from_uri, mask_uri, resolve_db_name

log = logging.getLogger(__name__)

#: How long one storage call may take to find out that the database is down (MONGODB_TIMEOUT_MS).
DEFAULT_TIMEOUT_MS = 600
#: A reply slower than this is a hung server, not a slow query (hard cap per operation).
SOCKET_TIMEOUT_MS = 30_000
#: The first connection at start-up may take longer than a call's budget (TLS, DNS, SRV).
STARTUP_TIMEOUT = 15.0


def client_defaults(timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict[str, Any]:
    """The client's timeouts, so that a failing call costs about ``timeout_ms``: a
    retryable read selects a server twice (first try and retry), so each selection gets
    half. Once connected, selection is instant, so a short one costs nothing normally."""
    return {
        "tz_aware": True,
        "serverSelectionTimeoutMS": max(1, timeout_ms // 2),
        "connectTimeoutMS": timeout_ms,
        "socketTimeoutMS": max(SOCKET_TIMEOUT_MS, timeout_ms),
        "appname": "tg-llm-bot",
    }


def make_client(
    uri: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS, **overrides: Any
) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, **(client_defaults(timeout_ms) | overrides))


def mongo_breaker(
    client: AsyncMongoClient[dict[str, Any]],
    *,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    name: str = "storage",
) -> CircuitBreaker:
    async def ping() -> None:
        await translate(client.admin.command("ping"), "ping")

    return CircuitBreaker(ping, probe_interval=probe_interval, name=name)


async def _wait_for_server(client: AsyncMongoClient[dict[str, Any]], deadline: float) -> None:
    """Ping until the server answers (start-up only), then fail with the last error."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            await translate(client.admin.command("ping"), "ping")
            return
        except StorageUnavailable:
            if loop.time() >= deadline:
                raise
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def _closed_on_failure(client: AsyncMongoClient[dict[str, Any]]) -> AsyncIterator[None]:
    """Close the client when the block fails in any way (cancelled too); the failure goes on."""
    done = False
    try:
        yield
        done = True
    finally:
        if not done:
            await client.close()


def log_database(uri: str, name: str, configured: str | None, what: str = "storage") -> None:
    """Say which database is in use, and when MONGODB_DB lost against the URI's path."""
    log.info("%s: MongoDB at %s, database %r", what, mask_uri(uri), name)
    in_uri = db_name_from_uri(uri, default="")
    if in_uri and configured and configured not in (in_uri, DEFAULT_DB_NAME):
        log.warning(
            "%s: the database named in MONGODB_URI (%r) wins over MONGODB_DB (%r)",
            what,
            in_uri,
            configured,
        )


async def open_mongo_storage(
    uri: str,
    *,
    db_name: str | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    startup_timeout: float = STARTUP_TIMEOUT,
    client_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
    retention_days: int | None = None,
) -> Storage:
    """``db_name`` is MONGODB_DB: used only when the URI names no database."""
    name = resolve_db_name(uri, db_name)
    client = make_client(uri, timeout_ms=timeout_ms, **(client_options or {}))
    async with _closed_on_failure(client):
        await _wait_for_server(client, asyncio.get_running_loop().time() + startup_timeout)
        await init_beanie(database=client[name], document_models=DOCUMENT_MODELS)
    log_database(uri, name, db_name)
    breaker = mongo_breaker(client, probe_interval=probe_interval)
    database = client[name]
    # Repositories bind their collections now: a later init_beanie (another storage in the
    # same process, as in tests) can't move them to another database.
    raw_usage = MongoUsageRepository(retention_days)
    conversations = MongoConversationRepository(max_turns)
    facts = MongoFactRepository(database)
    tasks = MongoTaskRepository(database)
    async with _closed_on_failure(client):
        await raw_usage.ensure_indexes()
        await conversations.ensure_indexes()
        await facts.ensure_indexes()
        await tasks.ensure_indexes()
    usage = guard(raw_usage, breaker)
    return Storage(
        backend="mongodb",
        users=guard(MongoUserRepository(), breaker),
        requests=guard(MongoAccessRequestRepository(), breaker),
        conversations=guard(conversations, breaker),
        usage=usage,
        usage_sink=DurableUsageSink(usage, breaker=breaker, **(sink_options or {})),
        spend=guard(MongoSpendRepository(database), breaker),
        identities=guard(MongoIdentityRepository(database), breaker),
        closer=client.close,
        breaker=breaker,
        retention_days=retention_days,
        instances=guard(MongoInstanceRegistry(database), breaker),
        personas=guard(MongoPersonaRepository(database), breaker),
        tools=guard(MongoToolRepository(database), breaker),
        pieces=guard(MongoPieceRepository(database), breaker),
        facts=guard(facts, breaker),
        tasks=guard(tasks, breaker),
    )
