"""TaskManager: what /tasks shows and does, for the owner only. Every change names the
user, and storage matches the task on its id *and* its owner, so an id that is stale
(the task ran out or was deleted meanwhile) or someone else's changes nothing and reads
as "gone"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.storage import Storage
from app.storage.models import utc_ms
from app.storage.tasks import ScheduledTask, TaskCounts

#: A task due longer ago than this and not run yet counts as late in /stats.
LATE_AFTER = timedelta(minutes=1)


class Resumed(StrEnum):
    LATER = "later"  # active again, next at its time
    NOW = "now"  # its time passed while it was paused: it runs at once
    GONE = "gone"  # not the user's, not paused, or not there any more


class TaskManager:
    def __init__(
        self, storage: Storage, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._tasks = storage.tasks
        self._clock = clock

    async def list(self, user_id: int, chat_id: int | None = None) -> list[ScheduledTask]:
        """The user's active and paused tasks, soonest first; only those set in
        ``chat_id`` when given (a group sees the tasks set in it, never private ones)."""
        mine = await self._tasks.list_for(user_id)
        return [t for t in mine if chat_id is None or t.chat_id == chat_id]

    async def get(self, user_id: int, task_id: str) -> ScheduledTask | None:
        """The task if it is the user's and not over; None otherwise."""
        task = await self._tasks.get(task_id)
        if task is None or task.user_id != user_id or task.status == "done":
            return None
        return task

    async def pause(self, user_id: int, task_id: str) -> bool:
        return await self._tasks.set_status(user_id, task_id, "paused")

    async def resume(self, user_id: int, task_id: str) -> Resumed:
        task = await self.get(user_id, task_id)
        now = self._clock()
        if task is None or not await self._tasks.resume(user_id, task_id, now):
            return Resumed.GONE
        return Resumed.NOW if utc_ms(task.next_run) <= utc_ms(now) else Resumed.LATER

    async def delete(self, user_id: int, task_id: str) -> bool:
        return await self._tasks.delete(user_id, task_id)

    async def counts(self) -> TaskCounts:
        """Everyone's tasks, for admins."""
        return await self._tasks.counts(self._clock() - LATE_AFTER)
