"""The scheduler runs each due task once, also with several instances at once, and skips
runs that are too late."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

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


async def test_a_run_that_raises_finishes_its_claim_and_says_only_the_error_type(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    once = await storage.tasks.add(task(NOW - timedelta(seconds=5), "once"))
    daily = await storage.tasks.add(
        task(NOW - timedelta(seconds=5), "daily").model_copy(update={"schedule": "day 8:00"})
    )
    tomorrow = NOW + timedelta(days=1)

    async def run(_t: ScheduledTask, _late: bool) -> RunOutcome:
        raise RuntimeError("upstream said no to https://api.example/?key=sk-secret-123")

    scheduler = Scheduler(
        storage.tasks,
        run,
        clock=lambda: NOW,
        next_run=lambda t, _after: tomorrow if t.schedule else None,
    )
    with caplog.at_level(logging.WARNING, logger="app.services.schedule.runner"):
        assert await scheduler.tick() == 2
        await scheduler.drain()
    assert scheduler.stats.failed == 2 and scheduler.stats.ran == 2
    ended, moved = await storage.tasks.get(once.id), await storage.tasks.get(daily.id)
    assert ended is not None and ended.status == "done" and ended.claimed_by is None
    assert moved is not None and moved.status == "active" and moved.claimed_by is None
    assert moved.next_run.replace(tzinfo=UTC) == tomorrow and moved.runs == 1
    assert "RuntimeError" in caplog.text and "sk-secret" not in caplog.text
    assert await storage.tasks.due(NOW + timedelta(hours=1), 10) == []  # nothing held or due


async def test_a_claim_of_an_instance_that_died_mid_run_is_run_by_another_after_its_lease(
    storage: Storage,
) -> None:
    added = await storage.tasks.add(task(NOW - timedelta(seconds=1), "call mum"))
    started = asyncio.Event()
    ran: list[str] = []

    async def hang(_t: ScheduledTask, _late: bool) -> RunOutcome:
        started.set()
        await asyncio.Event().wait()  # the instance dies before the send
        return RunOutcome.DONE

    async def run(t: ScheduledTask, _late: bool) -> RunOutcome:
        ran.append(t.text)
        return RunOutcome.DONE

    clock = {"now": NOW}
    dying = Scheduler(storage.tasks, hang, clock=lambda: NOW, lease=30, instance="dying")
    other = Scheduler(storage.tasks, run, clock=lambda: clock["now"], lease=30, instance="other")
    assert await dying.tick() == 1
    await started.wait()
    for job in list(dying._running):  # the process is killed: no finish, no release
        job.cancel()
    await asyncio.gather(*dying._running, return_exceptions=True)
    held = await storage.tasks.get(added.id)
    assert held is not None and held.claimed_by == "dying" and held.status == "active"

    clock["now"] = NOW + timedelta(seconds=29)  # the lease still holds: nobody runs it
    assert await other.tick() == 0
    clock["now"] = NOW + timedelta(seconds=31)
    assert await other.tick() == 1
    await other.drain()
    assert ran == ["call mum"]
    done = await storage.tasks.get(added.id)
    assert done is not None and done.status == "done" and done.runs == 1
    assert not await storage.tasks.finish(added.id, "dying", NOW, None)  # too late to count
    assert await other.tick() == 0 and ran == ["call mum"]


async def test_a_schedule_that_cannot_be_read_ends_the_task_instead_of_holding_it() -> None:
    storage = open_memory_storage()
    added = await storage.tasks.add(
        task(NOW - timedelta(seconds=1)).model_copy(update={"schedule": "every blue moon"})
    )

    async def run(_t: ScheduledTask, _late: bool) -> RunOutcome:
        return RunOutcome.DONE

    def unreadable(_t: ScheduledTask, _after: datetime) -> datetime | None:
        raise ValueError("every blue moon")

    scheduler = Scheduler(storage.tasks, run, clock=lambda: NOW, next_run=unreadable)
    await scheduler.tick()
    await scheduler.drain()
    ended = await storage.tasks.get(added.id)
    assert ended is not None and ended.status == "done" and ended.claimed_by is None


async def test_a_run_longer_than_its_lease_keeps_its_claim_and_runs_once() -> None:
    """A prompt with web search can outlast the lease: the running instance renews its
    claim, so the other instance, ticking all along, never starts the task a second time."""
    storage = open_memory_storage()
    await storage.tasks.add(task(datetime.now(UTC) - timedelta(seconds=1), "slow"))
    started: list[str] = []

    async def run(t: ScheduledTask, _late: bool) -> RunOutcome:
        started.append(t.text)
        await asyncio.sleep(1.0)  # four leases of 0.25 s
        return RunOutcome.DONE

    a = Scheduler(storage.tasks, run, lease=0.25)
    b = Scheduler(storage.tasks, run, lease=0.25)
    assert await a.tick() == 1
    for _ in range(12):
        await asyncio.sleep(0.1)
        await b.tick()
    await asyncio.gather(a.drain(), b.drain())
    assert started == ["slow"]
    assert a.stats.ran == 1 and b.stats.ran == 0


async def test_the_loop_outlives_a_task_that_cannot_be_read() -> None:
    storage = open_memory_storage()
    await storage.tasks.add(task(datetime.now(UTC) - timedelta(seconds=1), "after"))
    real_due = storage.tasks.due
    calls = 0

    async def due_once_broken(now: datetime, limit: int) -> list[ScheduledTask]:
        nonlocal calls
        calls += 1
        if calls == 1:
            ScheduledTask.model_validate({"id": "x"})  # a stored document that no longer reads
        return await real_due(now, limit)

    storage.tasks.due = due_once_broken  # type: ignore[method-assign]
    ran: list[str] = []

    async def run(t: ScheduledTask, _late: bool) -> RunOutcome:
        ran.append(t.text)
        return RunOutcome.DONE

    scheduler = Scheduler(storage.tasks, run, tick=0.01)
    scheduler.start()
    try:
        for _ in range(200):
            if ran:
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop()
    assert calls >= 2 and ran == ["after"]
