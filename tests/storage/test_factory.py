"""Backend selection, FSM storage, and secrets kept out of logs."""

from __future__ import annotations

import logging

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.pymongo import PyMongoStorage
from pymongo import MongoClient

from app.bot.run.fsm import make_fsm_storage
from app.storage import (
    AccessRequestRepository,
    ConversationRepository,
    IdentityRepository,
    SpendRepository,
    Storage,
    UsageRepository,
    UserRepository,
    mask_uri,
    open_storage,
    resolve_db_name,
)
from app.storage.uri import db_name_from_uri
from llmdoor.usage import UsageSink
from tests.storage.mongo_server import MongoTarget, mongo_label


async def test_memory_backend_warns_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.storage.factory"):
        st = await open_storage(None)
    assert st.backend == "memory"
    assert any("IN-MEMORY" in r.message and r.levelno == logging.WARNING for r in caplog.records)
    await st.close()
    await st.close()  # idempotent


async def test_mongodb_backend_logs_masked_uri(
    mongo: MongoTarget, scratch_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.storage.mongo.connect"):
        st = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        assert st.backend == "mongodb"
        assert any("MongoDB at" in r.getMessage() for r in caplog.records)
    finally:
        await st.close()


def test_mask_uri_hides_passwords() -> None:
    assert mask_uri("mongodb://bot:s3cr3t@db:27017/app?authSource=admin") == (
        "mongodb://bot:***@db:27017/app?authSource=admin"
    )
    assert mask_uri("mongodb+srv://u:p%40ss@cluster.example.net/x") == (
        "mongodb+srv://u:***@cluster.example.net/x"
    )
    assert mask_uri("mongodb://db:27017/") == "mongodb://db:27017/"
    assert "hunter2" not in mask_uri("mongodb://db/?tlsCertificateKeyFilePassword=hunter2")


def test_db_name_from_uri() -> None:
    assert db_name_from_uri("mongodb://db:27017/botdb?retryWrites=true") == "botdb"
    assert db_name_from_uri("mongodb://db:27017/") == "tg_llm_bot"


@pytest.mark.parametrize("use_mongo", [False, True], ids=["memory", mongo_label()])
async def test_fsm_storage_roundtrip(use_mongo: bool, request: pytest.FixtureRequest) -> None:
    uri = request.getfixturevalue("mongo").uri if use_mongo else None
    fsm = make_fsm_storage(
        uri, db_name=request.getfixturevalue("scratch_db") if use_mongo else None
    )
    # MongoDB's is wrapped so an outage degrades dialogs instead of failing every update.
    inner = getattr(fsm, "inner", fsm)
    assert isinstance(inner, PyMongoStorage if use_mongo else MemoryStorage)
    if use_mongo:  # aiogram-dialog keys its stacks by destiny
        assert inner._key_builder.with_destiny  # type: ignore[attr-defined]
    key = StorageKey(bot_id=1, chat_id=2, user_id=3)
    try:
        await fsm.set_state(key, "Dialog:pick")
        await fsm.update_data(key, {"model": "gpt"})
        assert await fsm.get_state(key) == "Dialog:pick"
        assert await fsm.get_data(key) == {"model": "gpt"}
    finally:
        await fsm.close()


async def test_backends_implement_the_protocols(storage: Storage) -> None:
    assert isinstance(storage.users, UserRepository)
    assert isinstance(storage.requests, AccessRequestRepository)
    assert isinstance(storage.conversations, ConversationRepository)
    assert isinstance(storage.usage, UsageRepository)
    assert isinstance(storage.usage_sink, UsageSink)
    assert isinstance(storage.spend, SpendRepository)
    assert isinstance(storage.identities, IdentityRepository)
    assert storage.available and storage.breaker.available


def test_the_uri_database_wins_then_mongodb_db_then_the_default() -> None:
    assert resolve_db_name("mongodb://db:27017/botdb?retryWrites=true", "other") == "botdb"
    assert resolve_db_name("mongodb://db:27017/botdb", None) == "botdb"
    assert resolve_db_name("mongodb://db:27017/", "other") == "other"
    assert resolve_db_name("mongodb://db:27017/?authSource=admin", "other") == "other"
    assert resolve_db_name("mongodb://db:27017", None) == "tg_llm_bot"


def _with_db(uri: str, db: str) -> str:
    base, _, query = uri.partition("?")
    hosts = "/".join(base.split("/")[:3])  # scheme://hosts, whatever path the URI had
    return f"{hosts}/{db}" + (f"?{query}" if query else "")


async def test_the_uri_database_is_the_one_used_and_logged(
    mongo: MongoTarget, scratch_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    uri = _with_db(mongo.uri, scratch_db)
    with caplog.at_level(logging.INFO, logger="app.storage.mongo.connect"):
        st = await open_storage(uri, db_name="not_this_one")
    try:
        await st.users.upsert_seen(42, "uri_db")
    finally:
        await st.close()
    with MongoClient(mongo.uri) as client:
        assert client[scratch_db]["users"].find_one({"_id": 42}) is not None
        assert "not_this_one" not in client.list_database_names()
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"database {scratch_db!r}" in m and mask_uri(uri) in m for m in messages)
    assert any("wins over MONGODB_DB" in m for m in messages)
