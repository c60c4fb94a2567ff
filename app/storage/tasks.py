"""The storage contract for scheduled work: reminders (a text sent at a time) and scheduled
prompts (a prompt answered at each run), per user.

Exactly once, across instances: a due task is ``claim``-ed atomically by one instance for
a lease (its ``next_run`` has come, it is active, and nobody holds an unexpired claim);
``finish`` then moves it to its next run (or ends it) and drops the claim, only for the
instance that holds it. An instance that dies mid-run leaves a claim that expires, and the
run is taken again by another."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from app.storage.models import utc_ms

TaskKind = Literal["reminder", "prompt"]
TaskStatus = Literal["active", "paused", "done"]


class ScheduledTask(BaseModel):
    id: str
    user_id: int
    chat_id: int
    thread_id: int = 0
    kind: TaskKind = "reminder"
    text: str  # the reminder's text, or the prompt
    # A recurring task's schedule (app.services.schedule.recurrence); None: runs once.
    schedule: str | None = None
    timezone: str = "UTC"
    locale: str = "en"  # the language of what is sent at the run
    next_run: datetime
    status: TaskStatus = "active"
    runs: int = 0
    last_run: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    # A scheduled prompt's own conversation (made at its first run, reused by the next).
    conversation_id: str | None = None
    # The user was told a run was skipped for their spent budget: not again until a run
    # goes through.
    budget_told: bool = False
    created_at: datetime = Field(default_factory=utc_ms)


class TaskCounts(BaseModel):
    """All users' tasks at a glance (admins' /stats)."""

    reminders_active: int = 0
    reminders_paused: int = 0
    prompts_active: int = 0
    prompts_paused: int = 0
    runs: int = 0  # runs done by the stored tasks (a deleted task takes its runs with it)
    late: int = 0  # active and due before the ``late_before`` asked for: not run in time


@runtime_checkable
class TaskRepository(Protocol):
    async def add(self, task: ScheduledTask) -> ScheduledTask:
        """Store a new task (its ``id`` is assigned here)."""
        ...

    async def get(self, task_id: str) -> ScheduledTask | None: ...

    async def list_for(self, user_id: int) -> list[ScheduledTask]:
        """The user's active and paused tasks, soonest first."""
        ...

    async def count_for(self, user_id: int) -> int:
        """Active and paused tasks of the user."""
        ...

    async def set_status(self, user_id: int, task_id: str, status: TaskStatus) -> bool: ...

    async def resume(self, user_id: int, task_id: str, now: datetime) -> bool:
        """A paused task of the user active again; a run that came while it was paused
        is due at ``now`` (no earlier: it was not missed by the bot, but held back)."""
        ...

    async def pause_all(self, user_id: int) -> int:
        """Pause every active task of the user (they blocked the bot)."""
        ...

    async def delete(self, user_id: int, task_id: str) -> bool: ...

    async def note(
        self, task_id: str, *, conversation_id: str | None = None, budget_told: bool | None = None
    ) -> bool:
        """Keep what a run learned: the prompt's conversation, whether the user was told
        about their budget (None: left as it is)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[ScheduledTask]:
        """Active tasks whose run has come and that nobody holds, oldest run first."""
        ...

    async def claim(
        self, task_id: str, instance: str, now: datetime, until: datetime
    ) -> ScheduledTask | None:
        """Take the due task for ``instance`` until ``until``, atomically; None when it is
        not due any more, not active, or held by an unexpired claim."""
        ...

    async def extend(self, task_id: str, instance: str, until: datetime) -> bool:
        """Hold the claim of a run still going until ``until``; False when ``instance`` no
        longer holds it (it expired and another instance took the task)."""
        ...

    async def finish(
        self, task_id: str, instance: str, ran_at: datetime, next_run: datetime | None
    ) -> bool:
        """The run is over: the next one at ``next_run`` (None: the task is done), the
        claim dropped. Only the instance holding the claim may finish it."""
        ...

    async def counts(self, late_before: datetime) -> TaskCounts: ...
