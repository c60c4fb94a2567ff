"""IdentityRepository contract, run on every backend: the first binder of a name keeps it."""

from __future__ import annotations

import asyncio

import pytest

from app.storage import IdentityRepository, Storage, open_storage
from tests.storage.mongo_server import MongoTarget


async def test_first_binder_wins(storage: Storage) -> None:
    ids = storage.identities
    assert isinstance(ids, IdentityRepository)
    assert await ids.bound() == {}
    assert await ids.bind("@Boss", 100) == 100
    assert await ids.bind("boss", 200) == 100  # a later holder of the name gets nothing
    assert await ids.bind("@BOSS", 100) == 100
    assert await ids.bind("friend", 300) == 300
    assert await ids.bound() == {"boss": 100, "friend": 300}


async def test_empty_name_is_a_bug_not_a_binding(storage: Storage) -> None:
    with pytest.raises(ValueError):
        await storage.identities.bind("@", 1)


async def test_parallel_binds_agree_on_one_winner(storage: Storage) -> None:
    results = await asyncio.gather(*(storage.identities.bind("race", uid) for uid in range(1, 11)))
    assert len(set(results)) == 1
    assert await storage.identities.bound() == {"race": results[0]}


@pytest.mark.mongodb
async def test_two_instances_bind_one_winner(mongo: MongoTarget, scratch_db: str) -> None:
    first = await open_storage(mongo.uri, db_name=scratch_db)
    second = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        pair = (first, second)
        results = await asyncio.gather(
            *(pair[uid % 2].identities.bind("@shared", uid) for uid in range(1, 21))
        )
        assert len(set(results)) == 1
        assert await first.identities.bound() == await second.identities.bound()
        assert await second.identities.bound() == {"shared": results[0]}
    finally:
        await first.close()
        await second.close()
