"""A run that raises does not leave its claim held until the lease ends: it counts as
failed, and the task moves on (a recurring one to its next run, in step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.services.schedule.runner import RunOutcome, Scheduler
from app.services.schedule.service import next_run_of
from app.storage import open_memory_storage
from app.storage.errors import StorageUnavailable
from app.storage.tasks import ScheduledTask
from llmdoor import LLMError

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HOURLY = "RRULE:FREQ=HOURLY;INTERVAL=1"


async def test_a_run_that_raises_is_finished_and_counted_failed() -> None:
    storage = open_memory_storage()
    failures: list[BaseException] = [
        StorageUnavailable("tasks.get", "down"),
        LLMError("boom"),
        ConnectionResetError(),
    ]
    for i in range(len(failures)):
        await storage.tasks.add(
            ScheduledTask(id="", user_id=1, chat_id=1, text=f"t{i}", next_run=NOW, schedule=HOURLY)
        )

    async def run(_task: ScheduledTask, _late: bool) -> RunOutcome:
        raise failures.pop()

    scheduler = Scheduler(
        storage.tasks, run, next_run=next_run_of, clock=lambda: NOW, lease=600, parallel=3
    )
    assert await scheduler.tick() == 3
    await scheduler.drain()
    assert scheduler.stats.failed == 3
    for task in await storage.tasks.list_for(1):
        assert task.claimed_by is None and task.claimed_until is None  # not held
        assert task.next_run == NOW + timedelta(hours=1) and task.runs == 1
    # Within the lease, the next run is taken on time.
    assert len(await storage.tasks.due(NOW + timedelta(hours=1), 10)) == 3


async def test_no_catch_up_still_runs_what_is_due_on_time() -> None:
    # SCHEDULE_CATCHUP_HOURS=0 ("nothing after downtime") must not skip the runs a tick
    # takes a moment after their time: only a run later than the scheduler's own delay is
    # one that was missed.
    storage = open_memory_storage()
    await storage.tasks.add(ScheduledTask(id="", user_id=1, chat_id=1, text="now", next_run=NOW))
    await storage.tasks.add(
        ScheduledTask(id="", user_id=1, chat_id=1, text="stale", next_run=NOW - timedelta(hours=2))
    )
    ran: list[str] = []
    told: list[str] = []

    async def run(task: ScheduledTask, _late: bool) -> RunOutcome:
        ran.append(task.text)
        return RunOutcome.DONE

    async def missed(task: ScheduledTask) -> None:
        told.append(task.text)

    scheduler = Scheduler(
        storage.tasks,
        run,
        tell_missed=missed,
        clock=lambda: NOW + timedelta(seconds=1.5),
        catchup_hours=0,
    )
    assert await scheduler.tick() == 2
    await scheduler.drain()
    assert ran == ["now"] and told == ["stale"]
