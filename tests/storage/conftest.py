"""Fixtures for the storage contract suite: one `storage` fixture over both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient, MongoClient

from app.storage import Storage, open_memory_storage, open_storage
from tests.storage.mongo_server import MongoTarget, fresh_db_name, mongo_label

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("mongodb", id=mongo_label(), marks=pytest.mark.mongodb),
]


async def _drop(uri: str, db_name: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    try:
        await client.drop_database(db_name)
    finally:
        await client.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def storage(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if backend == "memory":
        st = open_memory_storage()
        yield st
        await st.close()
        return
    target: MongoTarget = request.getfixturevalue("mongo")
    db_name = fresh_db_name()
    st = await open_storage(target.uri, db_name=db_name)
    try:
        yield st
    finally:
        await st.close()
        await _drop(target.uri, db_name)


@pytest.fixture
def scratch_db(mongo: MongoTarget) -> Iterator[str]:
    """A fresh database name on the shared server, dropped afterwards. Sync on purpose, so
    async tests can also pull it in with ``request.getfixturevalue``."""
    name = fresh_db_name()
    yield name
    with MongoClient(mongo.uri) as client:
        client.drop_database(name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "secantus"
    d.mkdir()
    return d
