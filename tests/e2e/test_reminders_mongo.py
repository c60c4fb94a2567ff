"""Reminders on MongoDB (the SecantusDB stand-in unless TEST_MONGODB_URI is set): a bot
restart between /remind and its time still delivers it, once; and two webhook instances on
one database deliver each of twenty due reminders exactly once, claiming them atomically
while both tick at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import MongoClient

from app.services.schedule.runner import Scheduler
from app.storage import open_storage
from app.storage.tasks import ScheduledTask, TaskRepository
from tests.e2e.conftest import FRIEND_ID, StartBot
from tests.e2e.test_webhook import SECRET, two_instances
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import MongoTarget, fresh_db_name
from tests.tg_emulator import TelegramEmulator
from tests.tg_emulator.users import SimUser

pytestmark = pytest.mark.mongodb

RUNS = 20


@pytest.fixture
def db_name(mongo: MongoTarget) -> Iterator[str]:
    name = fresh_db_name("e2e_remind")
    yield name
    with MongoClient(mongo.uri) as client:
        client.drop_database(name)


def delivered(user: SimUser, text: str) -> int:
    return sum(m.text == f"⏰ Reminder: {text}" for m in user.messages)


def aware(when: datetime) -> datetime:
    return when.replace(tzinfo=when.tzinfo or UTC)


async def test_a_restart_between_remind_and_its_time_still_delivers_once(
    start_bot: StartBot, tg: TelegramEmulator, mongo: MongoTarget, db_name: str
) -> None:
    friend = tg.user(FRIEND_ID, "Fred")
    storage = await open_storage(mongo.uri, db_name=db_name)
    async with start_bot(storage=storage) as first:
        scheduler = first.app.scheduler
        assert scheduler is not None
        scheduler.start()
        await friend.send("/remind 3s take the cake out")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll"))
        await scheduler.stop()
        [task] = await first.storage.tasks.list_for(FRIEND_ID)
    # The first bot is gone before the time came: nothing was sent, nothing is held.
    assert datetime.now(UTC) < aware(task.next_run), "the machine was too slow to test this"
    assert delivered(friend, "take the cake out") == 0
    assert task.status == "active" and task.runs == 0 and task.claimed_by is None

    storage = await open_storage(mongo.uri, db_name=db_name)
    async with start_bot(storage=storage) as second:
        scheduler = second.app.scheduler
        assert scheduler is not None
        scheduler.start()
        try:
            await tg.wait_for_message(
                friend.id, lambda m: m.text == "⏰ Reminder: take the cake out", timeout=20
            )
            assert datetime.now(UTC) >= aware(task.next_run)  # not before its time
            await asyncio.sleep(2.5)  # more ticks: it is not sent again
        finally:
            await scheduler.stop()
        assert delivered(friend, "take the cake out") == 1
        stored = await second.storage.tasks.get(task.id)
        assert stored is not None and stored.status == "done" and stored.runs == 1


class ClaimCounter:
    """Counts the claims an instance won and lost (another instance had it first)."""

    def __init__(self, repo: TaskRepository) -> None:
        self.won = 0
        self.lost = 0
        self._claim = repo.claim

    async def __call__(self, *args: Any, **kwargs: Any) -> ScheduledTask | None:
        taken = await self._claim(*args, **kwargs)
        if taken is None:
            self.lost += 1
        else:
            self.won += 1
        return taken


async def test_two_instances_deliver_each_of_twenty_runs_exactly_once(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget
) -> None:
    async with two_instances(tg, fake_llm, mongo) as (a, b):
        tg.deliver_to([a.url, b.url], secret_token=SECRET)
        friend = tg.user(FRIEND_ID, "Fred")
        for i in range(RUNS):
            await friend.send(f"/remind 2s run {i:02}")
            await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll"))
        assert {d.url for d in tg.webhook_deliveries if d.status == 200} == {a.url, b.url}
        tasks = await a.app.storage.tasks.list_for(FRIEND_ID)
        assert len(tasks) == RUNS
        last = max(aware(t.next_run) for t in tasks)
        await asyncio.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds()) + 0.2)

        schedulers: list[Scheduler] = []
        counters: list[ClaimCounter] = []
        for instance in (a, b):
            scheduler = instance.app.scheduler
            assert scheduler is not None
            counter = ClaimCounter(instance.app.storage.tasks)
            instance.app.storage.tasks.claim = counter  # type: ignore[method-assign]
            schedulers.append(scheduler)
            counters.append(counter)
        # Both instances tick at the same moment, over and over, until all twenty ran.
        for _ in range(200):
            await asyncio.gather(*(s.tick() for s in schedulers))
            await asyncio.sleep(0.05)
            if await a.app.storage.tasks.count_for(FRIEND_ID) == 0:
                break
        await asyncio.gather(*(s.drain() for s in schedulers))
        await tg.wait_until(
            lambda: sum(m.text.startswith("⏰ Reminder: run") for m in friend.messages) >= RUNS
        )
        await asyncio.sleep(1.0)  # late duplicates would land now
        for i in range(RUNS):
            assert delivered(friend, f"run {i:02}") == 1, f"run {i:02}"
        ran = [s.stats.ran for s in schedulers]
        assert sum(ran) == RUNS and all(n > 0 for n in ran), ran  # the work was split
        assert sum(c.won for c in counters) == RUNS
        assert sum(c.lost for c in counters) > 0  # both went for the same runs at once
        assert await a.app.storage.tasks.count_for(FRIEND_ID) == 0
        done = await b.app.storage.tasks.get(tasks[0].id)
        assert done is not None and done.status == "done" and done.runs == 1
