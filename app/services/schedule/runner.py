"""The scheduler: runs due tasks exactly once, on whichever instance claims them.

Every ``tick`` seconds each instance asks storage for due tasks and claims them one by
one (an atomic claim with a lease: app.storage.tasks); what it claimed it runs, at most
``parallel`` at once, so a burst at 08:00 does not starve chat answers. A run that is more
than ``catchup`` late (the bot was down) is skipped, and the user told once; a recurring
task then moves on to its next time. An instance that dies mid-run leaves a claim that
expires after ``lease`` seconds, and another instance runs the task again."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.storage.errors import StorageUnavailable
from app.storage.tasks import ScheduledTask, TaskRepository
from llmdoor import LLMError

log = logging.getLogger(__name__)


class RunOutcome(StrEnum):
    DONE = "done"
    BLOCKED = "blocked"  # the user blocked the bot: their tasks pause
    FAILED = "failed"  # tried and failed; the task moves on as if it had run


# Runs one task (``late``: it is a catch-up of a missed run, or it is skipped when None).
RunTask = Callable[[ScheduledTask, bool], Awaitable[RunOutcome]]
# Says a run was missed (the bot was down too long); best effort.
TellMissed = Callable[[ScheduledTask], Awaitable[None]]
NextRun = Callable[[ScheduledTask, datetime], datetime | None]
# What a run may raise that is not the run's own to handle (model and Telegram errors are
# handled inside it): the database, the network.
RUN_FAILURES = (StorageUnavailable, LLMError, OSError, TimeoutError)


def once(_task: ScheduledTask, _after: datetime) -> datetime | None:
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SchedulerStats:
    ran: int = 0
    missed: int = 0
    failed: int = 0


class Scheduler:
    def __init__(
        self,
        tasks: TaskRepository,
        run: RunTask,
        *,
        tell_missed: TellMissed | None = None,
        next_run: NextRun = once,
        tick: float = 1.0,
        lease: float = 300.0,
        parallel: int = 4,
        catchup_hours: float = 6.0,
        clock: Callable[[], datetime] = utc_now,
        instance: str | None = None,
    ) -> None:
        self._tasks = tasks
        self._run = run
        self._tell_missed = tell_missed
        self._next_run = next_run
        self._tick = tick
        self._lease = timedelta(seconds=lease)
        self._slots = asyncio.Semaphore(max(1, parallel))
        self._parallel = max(1, parallel)
        self._catchup = timedelta(hours=catchup_hours)
        self._clock = clock
        self.instance = instance or uuid.uuid4().hex
        self._running: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self.stats = SchedulerStats()

    def start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.create_task(self._forever(), name="scheduler")

    async def stop(self, grace: float = 5.0) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace)

    async def _forever(self) -> None:
        while True:
            try:
                await self.tick()
            except StorageUnavailable:
                log.info("scheduler: storage unavailable, trying again")
            await asyncio.sleep(self._tick)

    async def tick(self) -> int:
        """Claim and start what is due now (only as many as there are free slots)."""
        free = self._parallel - len(self._running)
        if free <= 0:
            return 0
        now = self._clock()
        started = 0
        for task in await self._tasks.due(now, free):
            claimed = await self._tasks.claim(task.id, self.instance, now, now + self._lease)
            if claimed is None:
                continue  # another instance took it
            job = asyncio.create_task(self._one(claimed, now), name=f"task-{claimed.id}")
            self._running.add(job)
            job.add_done_callback(self._running.discard)
            started += 1
        return started

    async def drain(self) -> None:
        """Until the runs started so far are over (tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _one(self, task: ScheduledTask, now: datetime) -> None:
        async with self._slots:
            outcome = RunOutcome.FAILED
            try:
                outcome = await self._attempt(task, now)
            except RUN_FAILURES as exc:
                # The claim must not stay held until its lease ends: the run counts as
                # failed and the task moves on.
                log.warning("scheduler: task %s failed: %s", task.id, type(exc).__name__)
            if outcome is RunOutcome.BLOCKED:
                await self._tasks.pause_all(task.user_id)
            if outcome is RunOutcome.FAILED:
                self.stats.failed += 1
            after = max(now, self._clock())
            await self._tasks.finish(task.id, self.instance, after, self._next_run(task, after))

    async def _attempt(self, task: ScheduledTask, now: datetime) -> RunOutcome:
        late = now - task.next_run.replace(tzinfo=task.next_run.tzinfo or UTC)
        if late > self._catchup:
            self.stats.missed += 1
            log.info("scheduler: task %s missed by %s, skipped", task.id, late)
            if self._tell_missed is not None:
                await self._tell_missed(task)
            return RunOutcome.DONE
        self.stats.ran += 1
        return await self._run(task, late > timedelta(seconds=60))
