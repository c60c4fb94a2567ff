"""``python -m app.ops.rebuild_rollups``: backfills rollups for records written before
rollups existed (or after they were lost), idempotently."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.config import StorageSettings
from app.ops.rebuild_rollups import rebuild
from app.storage import open_storage
from app.storage.mongo.rollups import COLLECTIONS
from tests.storage.test_contract_rollups import assert_rollups_match_raw, random_events

pytestmark = pytest.mark.mongodb


async def test_rebuild_tool_backfills_lost_rollups(mongo: Any, scratch_db: str) -> None:
    st = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        await st.usage.add_many(random_events(200, seed=21))
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
        try:  # as if the records predate rollups
            for name in COLLECTIONS.values():
                await client[scratch_db][name].delete_many({})
        finally:
            await client.close()
        assert (await st.stats.totals()).requests == 0
        settings = StorageSettings(uri=mongo.uri, db=scratch_db, timeout_ms=30_000)
        first = await rebuild(settings)
        assert first > 0
        assert await rebuild(settings) == first  # idempotent
        assert (await st.stats.totals()).requests == 200
        await assert_rollups_match_raw(st, [1, 2, 3])
    finally:
        await st.close()
