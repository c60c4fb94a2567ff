"""The scheduler runs each due task once, also with several instances at once, and skips
runs that are too late."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.services.schedule.runner import RunOutcome, Scheduler
from app.storage import Storage, open_memory_storage
from app.storage.tasks import ScheduledTask

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def task(at: datetime, text: str = "call mum") -> ScheduledTask:
    return ScheduledTask(id="", user_id=1, chat_id=1, text=text, next_run=at)


async def test_two_schedulers_run_each_of_twenty_tasks_once(storage: Storage) -> None:
    for i in range(20):
        await storage.tasks.add(task(NOW - timedelta(seconds=i), f"t{i}"))
    ran: list[str] = []

    async def run(t: ScheduledTask, _late: bool) -> RunOutcome:
        await asyncio.sleep(0.01)
        ran.append(t.text)
        return RunOutcome.DONE

    a = Scheduler(storage.tasks, run, clock=lambda: NOW, parallel=3)
    b = Scheduler(storage.tasks, run, clock=lambda: NOW, parallel=3)
    for _ in range(20):
        await asyncio.gather(a.tick(), b.tick())
        await asyncio.sleep(0.02)
    await asyncio.gather(a.drain(), b.drain())
    assert sorted(ran) == sorted(f"t{i}" for i in range(20))
    assert a.stats.ran > 0 and b.stats.ran > 0  # both took some
    assert await storage.tasks.due(NOW + timedelta(days=1), 100) == []


async def test_a_run_too_late_is_skipped_with_a_note_and_a_blocked_user_pauses() -> None:
    storage = open_memory_storage()
    await storage.tasks.add(task(NOW - timedelta(hours=10), "stale"))
    await storage.tasks.add(task(NOW - timedelta(minutes=5), "fresh"))
    await storage.tasks.add(task(NOW + timedelta(hours=1), "later"))
    told: list[str] = []
    ran: list[tuple[str, bool]] = []

    async def run(t: ScheduledTask, late: bool) -> RunOutcome:
        ran.append((t.text, late))
        return RunOutcome.BLOCKED

    async def missed(t: ScheduledTask) -> None:
        told.append(t.text)

    scheduler = Scheduler(
        storage.tasks, run, tell_missed=missed, clock=lambda: NOW, catchup_hours=6
    )
    await scheduler.tick()
    await scheduler.drain()
    assert told == ["stale"] and ran == [("fresh", True)]
    later = (await storage.tasks.list_for(1))[0]
    assert later.text == "later" and later.status == "paused"  # the user blocked the bot
