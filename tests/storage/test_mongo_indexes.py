"""MongoDB only: the indexes the queries rely on exist, and the uniqueness guards hold."""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError

from app.storage import Storage, open_storage
from app.storage.mongo.documents import AccessRequestDoc, ConversationDoc, UsageDoc, UserDoc
from tests.storage.mongo_server import MongoTarget, mongo_label

pytestmark = pytest.mark.mongodb


@pytest.fixture
async def mstore(mongo: MongoTarget, scratch_db: str) -> Storage:
    st = await open_storage(mongo.uri, db_name=scratch_db)
    yield st  # type: ignore[misc]
    await st.close()


@pytest.mark.parametrize("server", [mongo_label()])
async def test_indexes_created_at_start_up(mstore: Storage, server: str) -> None:
    expected = {
        UserDoc: {"username_lower", "approved"},
        AccessRequestDoc: {"status_created", "user_created", "one_pending_per_user"},
        ConversationDoc: {
            "user_key_active",
            "one_active_per_key",
            "user_key_updated",
            "user_key_words",
            "user_archive",
            "chat_message_ids",
        },
        UsageDoc: {"created", "user_created", "model_created", "outcome_created"},
    }
    for doc, names in expected.items():
        cursor = await doc.get_pymongo_collection().list_indexes()
        found = {ix["name"] async for ix in cursor}
        assert names <= found, (doc.__name__, found)


@pytest.mark.parametrize("server", [mongo_label()])
async def test_partial_unique_indexes_are_enforced(mstore: Storage, server: str) -> None:
    reqs = AccessRequestDoc.get_pymongo_collection()
    await reqs.insert_one({"user_id": 1, "status": "pending"})
    with pytest.raises(DuplicateKeyError):
        await reqs.insert_one({"user_id": 1, "status": "pending"})
    await reqs.insert_one({"user_id": 1, "status": "denied"})  # outside the partial filter
    await reqs.insert_one({"user_id": 1, "status": "denied"})

    convs = ConversationDoc.get_pymongo_collection()
    await convs.insert_one({"user_id": 1, "chat_id": 1, "active": True})
    with pytest.raises(DuplicateKeyError):
        await convs.insert_one({"user_id": 1, "chat_id": 1, "active": True})
    await convs.insert_one({"user_id": 1, "chat_id": 1, "active": False})
    # another forum topic of the same chat has an active conversation of its own
    await convs.insert_one({"user_id": 1, "chat_id": 1, "thread_id": 5, "active": True})
