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
from typing import TypeVar

from app.storage.errors import StorageUnavailable
from app.storage.tasks import ScheduledTask, TaskRepository

log = logging.getLogger(__name__)

T = TypeVar("T")


class RunOutcome(StrEnum):
    DONE = "done"
    BLOCKED = "blocked"  # the user blocked the bot: their tasks pause
    CHAT_GONE = "chat_gone"  # a group removed the bot: this task pauses, not the user's others
    FAILED = "failed"  # tried and failed; the task moves on as if it had run


# Runs one task (``late``: it is a catch-up of a missed run, or it is skipped when None).
RunTask = Callable[[ScheduledTask, bool], Awaitable[RunOutcome]]
# Says a run was missed (the bot was down too long); best effort.
TellMissed = Callable[[ScheduledTask], Awaitable[None]]
NextRun = Callable[[ScheduledTask, datetime], datetime | None]
#: A run at most this late is on time (a tick, a wait for a free slot): never skipped as
#: missed, whatever the catch-up allows; a later one is said to be late.
ON_TIME = timedelta(seconds=60)


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
            except (ValueError, TypeError, KeyError) as exc:
                # A stored task that no longer reads (a ValidationError is a ValueError):
                # the loop must outlive it, or no task of anyone would run until a restart.
                log.warning("scheduler: a tick failed (%s), trying again", type(exc).__name__)
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
            keeper = asyncio.create_task(self._keep_claim(task), name=f"lease-{task.id}")
            try:
                outcome = await _settled(task, self._attempt(task, now)) or RunOutcome.FAILED
            finally:
                keeper.cancel()
            try:
                if outcome is RunOutcome.BLOCKED:
                    await self._tasks.pause_all(task.user_id)
                elif outcome is RunOutcome.CHAT_GONE:
                    await self._tasks.set_status(task.user_id, task.id, "paused")
            except StorageUnavailable:
                log.warning("scheduler: could not pause the tasks of user %s", task.user_id)
            if outcome is RunOutcome.FAILED:
                self.stats.failed += 1
            after = max(now, self._clock())
            try:
                following = self._next_run(task, after)
            except ValueError:  # a schedule that cannot be read (any more): the task ends
                log.warning("scheduler: task %s has no readable schedule; it ends", task.id)
                following = None
            try:
                await self._tasks.finish(task.id, self.instance, after, following)
            except StorageUnavailable:
                # The claim expires after its lease, and the run is taken again then.
                log.warning("scheduler: task %s ran but could not be moved on", task.id)

    async def _keep_claim(self, task: ScheduledTask) -> None:
        """Renew the claim while the run goes on: a prompt with web search can outlast the
        lease, and another instance would then run it a second time. A dead instance
        renews nothing, so its claim still expires."""
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                held = await self._tasks.extend(task.id, self.instance, self._clock() + self._lease)
            except StorageUnavailable:
                continue  # the claim may lapse; finish() then finds it taken, or not
            if not held:
                log.warning("scheduler: task %s: the claim lapsed during its run", task.id)
                return

    async def _attempt(self, task: ScheduledTask, now: datetime) -> RunOutcome:
        late = now - task.next_run.replace(tzinfo=task.next_run.tzinfo or UTC)
        if late > max(self._catchup, ON_TIME):
            self.stats.missed += 1
            log.info("scheduler: task %s missed by %s, skipped", task.id, late)
            if self._tell_missed is not None:
                await self._tell_missed(task)
            return RunOutcome.DONE
        self.stats.ran += 1
        return await self._run(task, late > ON_TIME)


async def _settled(task: ScheduledTask, run: Awaitable[T]) -> T | None:
    """What ``run`` returned, or None when it raised.

    A run is the caller's code (a reminder's send, a prompt's model call and delivery)
    and may raise anything; whatever it raises ends this run as a failed one, so that the
    claim is finished and a recurring task moves on: a claim left to expire would have the
    same failing run taken again every lease, for ever. The run goes as its own asyncio
    task whose outcome is read rather than caught, and only the error's type is logged
    (its text may carry a URL with a key). Cancelling this cancels the run and leaves the
    claim held, as an instance that dies mid-run does."""
    attempt = asyncio.ensure_future(run)
    try:
        await asyncio.wait([attempt])
    except asyncio.CancelledError:
        attempt.cancel()
        raise
    failure = None if attempt.cancelled() else attempt.exception()
    if attempt.cancelled() or failure is not None:
        kind = "cancelled" if failure is None else type(failure).__name__
        log.warning("scheduler: task %s failed (%s)", task.id, kind)
        return None
    return attempt.result()
