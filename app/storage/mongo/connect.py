"""Open the MongoDB storage: one client, Beanie initialised, indexes created at start-up,
every repository behind the circuit breaker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pymongo
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import NetworkTimeout
from pymongo.server_type import SERVER_TYPE

from app.storage.base import DEFAULT_MAX_TURNS
from app.storage.breaker import DEFAULT_PROBE_INTERVAL, CircuitBreaker
from app.storage.bundle import Storage
from app.storage.durable_sink import DurableUsageSink
from app.storage.errors import StorageUnavailable
from app.storage.guard import guard, translate
from app.storage.mongo.conversations import MongoConversationRepository
from app.storage.mongo.documents import DOCUMENT_MODELS
from app.storage.mongo.facts import MongoFactRepository
from app.storage.mongo.group_history import MongoGroupHistoryRepository
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

#: After this long a storage call makes the breaker ask whether the database is down
#: (MONGODB_TIMEOUT_MS); a database that answers lets the call go on.
DEFAULT_TIMEOUT_MS = 600
#: How long one storage call may take on a database that is alive but busy
#: (MONGODB_OPERATION_TIMEOUT_MS): slow is not down.
DEFAULT_OPERATION_TIMEOUT_MS = 10_000
#: A reply slower than this is a hung server, not a slow query (hard cap per operation).
SOCKET_TIMEOUT_MS = 30_000
#: The probe's ping: a stopped server is known at once (it refuses connections); one that
#: accepts them gets this long to answer a ping, as a server stalled by load may need.
PROBE_TIMEOUT = 5.0
#: The first connection at start-up may take longer than a call's budget (TLS, DNS, SRV).
STARTUP_TIMEOUT = 15.0


def client_defaults(
    timeout_ms: int = DEFAULT_TIMEOUT_MS, operation_timeout_ms: int = DEFAULT_OPERATION_TIMEOUT_MS
) -> dict[str, Any]:
    """The client's timeouts are the per-operation budget, not the breaker's judgement: a
    busy server (slow heartbeats, a queue of operations) must not look like a dead one to
    the driver. Finding a dead server fast is the breaker's job (``mongo_breaker``)."""
    budget = max(timeout_ms, operation_timeout_ms)
    return {
        "tz_aware": True,
        "serverSelectionTimeoutMS": budget,
        # Also the heartbeat's socket timeout: a stalled heartbeat would mark the server
        # unknown and clear the pool under every operation in flight.
        "connectTimeoutMS": budget,
        "socketTimeoutMS": max(SOCKET_TIMEOUT_MS, budget),
        "appname": "tg-llm-bot",
    }


def make_client(
    uri: str,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    operation_timeout_ms: int = DEFAULT_OPERATION_TIMEOUT_MS,
    **overrides: Any,
) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(uri, **(client_defaults(timeout_ms, operation_timeout_ms) | overrides))


def unreachable(client: AsyncMongoClient[dict[str, Any]]) -> bool:
    """Does the driver believe that no server can be reached (refused, reset), as opposed
    to a server that is only slow to answer? Its belief can be a heartbeat old."""
    servers = client.topology_description.server_descriptions().values()
    if not servers:
        return False
    return all(
        sd.server_type == SERVER_TYPE.Unknown
        and sd.error is not None
        and not isinstance(sd.error, NetworkTimeout)
        for sd in servers
    )


async def accepts_connections(client: AsyncMongoClient[dict[str, Any]], within: float) -> bool:
    """Does any of the client's servers accept a TCP connection right now? A stopped
    server refuses at once, so this tells "down" in milliseconds; a restarted one accepts
    before the driver's next heartbeat has noticed."""
    for host, port in client.topology_description.server_descriptions():
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port or 27017), within
            )
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


def mongo_breaker(
    client: AsyncMongoClient[dict[str, Any]],
    *,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    name: str = "storage",
) -> CircuitBreaker:
    async def ping() -> None:
        # The driver saw the server refuse: believe it only if it still does (it may be
        # back already), without waiting a server selection for the answer.
        if unreachable(client) and not await accepts_connections(client, 0.5):
            raise StorageUnavailable(f"{name}: database unreachable")
        with pymongo.timeout(PROBE_TIMEOUT):
            await translate(client.admin.command("ping"), "ping")

    # No cap on a whole repository call here (some are long, like a rollup rebuild): the
    # driver's per-operation timeouts (MONGODB_OPERATION_TIMEOUT_MS) bound each operation.
    return CircuitBreaker(
        ping,
        probe_interval=probe_interval,
        probe_timeout=PROBE_TIMEOUT + 0.5,
        name=name,
        judge_after=timeout_ms / 1000,
    )


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
    operation_timeout_ms: int = DEFAULT_OPERATION_TIMEOUT_MS,
    probe_interval: float = DEFAULT_PROBE_INTERVAL,
    startup_timeout: float = STARTUP_TIMEOUT,
    client_options: dict[str, Any] | None = None,
    sink_options: dict[str, Any] | None = None,
    retention_days: int | None = None,
) -> Storage:
    """``db_name`` is MONGODB_DB: used only when the URI names no database."""
    name = resolve_db_name(uri, db_name)
    client = make_client(
        uri,
        timeout_ms=timeout_ms,
        operation_timeout_ms=operation_timeout_ms,
        **(client_options or {}),
    )
    async with _closed_on_failure(client):
        await _wait_for_server(client, asyncio.get_running_loop().time() + startup_timeout)
        await init_beanie(database=client[name], document_models=DOCUMENT_MODELS)
    log_database(uri, name, db_name)
    breaker = mongo_breaker(client, probe_interval=probe_interval, timeout_ms=timeout_ms)
    database = client[name]
    # Repositories bind their collections now: a later init_beanie (another storage in the
    # same process, as in tests) can't move them to another database.
    raw_usage = MongoUsageRepository(retention_days)
    conversations = MongoConversationRepository(max_turns)
    facts = MongoFactRepository(database)
    tasks = MongoTaskRepository(database)
    group_history = MongoGroupHistoryRepository(database)
    async with _closed_on_failure(client):
        await raw_usage.ensure_indexes()
        await conversations.ensure_indexes()
        await facts.ensure_indexes()
        await tasks.ensure_indexes()
        await group_history.ensure_indexes()
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
        group_history=guard(group_history, breaker),
    )
