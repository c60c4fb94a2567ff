"""Scheduled tasks in memory (one process: the claim is a plain check)."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from app.storage.models import utc_ms
from app.storage.tasks import ScheduledTask, TaskCounts, TaskStatus


def _held(task: ScheduledTask, now: datetime) -> bool:
    return task.claimed_until is not None and utc_ms(task.claimed_until) > utc_ms(now)


class MemoryTaskRepository:
    def __init__(self) -> None:
        self._tasks: dict[str, ScheduledTask] = {}

    async def add(self, task: ScheduledTask) -> ScheduledTask:
        stored = task.model_copy(update={"id": str(ObjectId()), "next_run": utc_ms(task.next_run)})
        self._tasks[stored.id] = stored
        return stored.model_copy()

    async def get(self, task_id: str) -> ScheduledTask | None:
        found = self._tasks.get(task_id)
        return found.model_copy() if found else None

    async def list_for(self, user_id: int) -> list[ScheduledTask]:
        mine = [t for t in self._tasks.values() if t.user_id == user_id and t.status != "done"]
        return [t.model_copy() for t in sorted(mine, key=lambda t: (t.next_run, t.id))]

    async def count_for(self, user_id: int) -> int:
        return len(await self.list_for(user_id))

    async def set_status(self, user_id: int, task_id: str, status: TaskStatus) -> bool:
        found = self._tasks.get(task_id)
        if found is None or found.user_id != user_id or found.status == "done":
            return False
        found.status = status
        return True

    async def resume(self, user_id: int, task_id: str, now: datetime) -> bool:
        found = self._tasks.get(task_id)
        if found is None or found.user_id != user_id or found.status != "paused":
            return False
        found.status = "active"
        found.next_run = max(utc_ms(found.next_run), utc_ms(now))
        return True

    async def pause_all(self, user_id: int) -> int:
        mine = [t for t in self._tasks.values() if t.user_id == user_id and t.status == "active"]
        for task in mine:
            task.status = "paused"
        return len(mine)

    async def delete(self, user_id: int, task_id: str) -> bool:
        found = self._tasks.get(task_id)
        if found is None or found.user_id != user_id:
            return False
        del self._tasks[task_id]
        return True

    async def note(
        self, task_id: str, *, conversation_id: str | None = None, budget_told: bool | None = None
    ) -> bool:
        found = self._tasks.get(task_id)
        if found is None:
            return False
        if conversation_id is not None:
            found.conversation_id = conversation_id
        if budget_told is not None:
            found.budget_told = budget_told
        return True

    async def due(self, now: datetime, limit: int) -> list[ScheduledTask]:
        ready = [
            t
            for t in self._tasks.values()
            if t.status == "active" and utc_ms(t.next_run) <= utc_ms(now) and not _held(t, now)
        ]
        return [t.model_copy() for t in sorted(ready, key=lambda t: t.next_run)[:limit]]

    async def claim(
        self, task_id: str, instance: str, now: datetime, until: datetime
    ) -> ScheduledTask | None:
        found = self._tasks.get(task_id)
        if found is None or found.status != "active" or utc_ms(found.next_run) > utc_ms(now):
            return None
        if _held(found, now):
            return None
        found.claimed_by, found.claimed_until = instance, utc_ms(until)
        return found.model_copy()

    async def extend(self, task_id: str, instance: str, until: datetime) -> bool:
        found = self._tasks.get(task_id)
        if found is None or found.claimed_by != instance:
            return False
        found.claimed_until = utc_ms(until)
        return True

    async def finish(
        self, task_id: str, instance: str, ran_at: datetime, next_run: datetime | None
    ) -> bool:
        found = self._tasks.get(task_id)
        if found is None or found.claimed_by != instance:
            return False
        found.runs += 1
        found.last_run = utc_ms(ran_at)
        found.claimed_by = found.claimed_until = None
        if next_run is None:
            found.status = "done"
        else:
            found.next_run = utc_ms(next_run)
        return True

    async def counts(self, late_before: datetime) -> TaskCounts:
        counts = TaskCounts()
        for t in self._tasks.values():
            counts.runs += t.runs
            field = f"{t.kind}s_{t.status}"
            if field in TaskCounts.model_fields:  # done tasks are not counted, only their runs
                setattr(counts, field, getattr(counts, field) + 1)
            if t.status == "active" and utc_ms(t.next_run) < utc_ms(late_before):
                counts.late += 1
        return counts
