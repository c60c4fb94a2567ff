"""/catchup end to end on MongoDB (the SecantusDB stand-in unless TEST_MONGODB_URI is
set): history written behind to the group_history collection, read back by topic and
time, bounded per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import MongoClient

from app.services.groups.settings import GroupSettings
from app.storage import Storage, open_storage
from tests.e2e.conftest import FRIEND_ID, STRANGER_ID, StartBot
from tests.fakes.openai_server import Reply
from tests.storage.mongo_server import MongoTarget, fresh_db_name, mongo_label
from tests.tg_emulator.server import TelegramEmulator

pytestmark = pytest.mark.mongodb


@pytest.fixture
async def mongo_storage(mongo: MongoTarget) -> AsyncIterator[Storage]:
    name = fresh_db_name("e2e_groups")
    storage = await open_storage(mongo.uri, db_name=name)
    yield storage
    await storage.close()
    with MongoClient(mongo.uri) as client:
        client.drop_database(name)


@pytest.mark.parametrize("server", [mongo_label()])
async def test_catchup_on_mongodb(
    start_bot: StartBot, tg: TelegramEmulator, mongo_storage: Storage, server: str
) -> None:
    tg.privacy_mode = False
    groups = GroupSettings(history_size=5)
    async with start_bot(storage=mongo_storage, groups=groups) as running:
        fake = running.fake_llm
        fred = tg.user(FRIEND_ID, "Fred")
        alice = tg.user(STRANGER_ID, "Alice")
        team = tg.group(-6001, "Team")
        await fred.send_in(team, "see you later")
        for n in range(1, 7):
            await alice.send_in(team, f"point {n}")
        await tg.wait_quiet()
        fake.script(Reply(text="Six points."))
        await fred.send_in(team, "/catchup")
        await tg.wait_for_message(team.id, lambda m: m.text == "Six points.")
        [request] = fake.chat_requests
        prompt = str(request.messages[-1]["content"])
        # Five kept, the /catchup among them: points 3 to 6 (Fred's own went out of bounds).
        assert "Alice: point 3" in prompt and "Alice: point 6" in prompt
        assert "point 2" not in prompt and "see you later" not in prompt
