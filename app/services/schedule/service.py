"""ScheduleService: a user's reminders, plain inputs and outcomes. The time zone is the
user's (UTC until they set one with /timezone)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.services.memory.service import clean_fact
from app.services.schedule.recurrence import Recurrence, next_run, parse_every, shortest_gap
from app.services.schedule.settings import ScheduleSettings
from app.services.schedule.when import parse_due
from app.storage import Storage, UserRecord
from app.storage.models import utc_ms
from app.storage.tasks import ScheduledTask

MAX_TEXT_CHARS = 1000
#: The longest prompt a schedule keeps; a longer one is refused, not cut.
MAX_PROMPT_CHARS = 2000


class Reminded(StrEnum):
    SET = "set"
    NO_TIME = "no_time"  # no time could be read, or it is past or too far
    EMPTY = "empty"  # a time, but nothing to remind of
    TOO_MANY = "too_many"


class Scheduled(StrEnum):
    SET = "set"
    NO_SCHEDULE = "no_schedule"  # no schedule could be read
    EMPTY = "empty"  # a schedule, but no prompt
    TOO_LONG = "too_long"
    TOO_MANY = "too_many"
    TOO_OFTEN = "too_often"  # runs closer together than SCHEDULE_MIN_INTERVAL_MINUTES


@dataclass(frozen=True)
class ScheduleResult:
    status: Scheduled
    task: ScheduledTask | None = None
    recurrence: Recurrence | None = None
    local_time: datetime | None = None  # the first run, in the user's zone
    zone_set: bool = False


@dataclass(frozen=True)
class ReminderResult:
    status: Reminded
    task: ScheduledTask | None = None
    local_time: datetime | None = None  # when, in the user's zone
    zone_set: bool = False  # the user chose their zone (else UTC, and they are told how)


def zone_of(user: UserRecord) -> ZoneInfo:
    return zone_named(user.prefs.timezone)


def zone_named(name: str | None) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a zone removed from the tz database since: UTC
    return ZoneInfo("UTC")


# Files of the tz database that are not places: the system's own zone, the POSIX rules
# template, and a zone meaning "unset".
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_ZONES and not name.startswith(("posix/", "right/"))
    )


def valid_zone(name: str) -> ZoneInfo | None:
    """``Area/City`` from the tz database; None for anything else (also for the files of
    the database that are not zones, such as ``localtime`` and ``posixrules``)."""
    name = name.strip()
    if name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class ScheduleService:
    def __init__(
        self,
        storage: Storage,
        settings: ScheduleSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tasks = storage.tasks
        self._users = storage.users
        self.settings = settings or ScheduleSettings()
        self._clock = clock

    async def remind(
        self,
        user: UserRecord,
        chat_id: int,
        thread_id: int,
        text: str,
        locale: str = "en",
        *,
        what: str | None = None,
    ) -> ReminderResult:
        """``text``: "<when> <what>"; or, with ``what`` given (the model's tool), only the
        time, every word of which must be read as one."""
        zone = zone_of(user)
        due = await parse_due(text, self._clock(), zone)
        if due is None or (what is not None and due.rest):
            return ReminderResult(Reminded.NO_TIME)
        what = clean_fact(due.rest if what is None else what, MAX_TEXT_CHARS)
        if not what:
            return ReminderResult(Reminded.EMPTY)
        task = await self._add_within_cap(
            ScheduledTask(
                id="",
                user_id=user.user_id,
                chat_id=chat_id,
                thread_id=thread_id,
                kind="reminder",
                text=what,
                timezone=zone.key,
                locale=locale,
                next_run=due.at,
            )
        )
        if task is None:
            return ReminderResult(Reminded.TOO_MANY)
        return ReminderResult(
            Reminded.SET, task, due.at.astimezone(zone), zone_set=bool(user.prefs.timezone)
        )

    async def every(
        self,
        user: UserRecord,
        chat_id: int,
        thread_id: int,
        text: str,
        locale: str = "en",
        *,
        prompt: str | None = None,
    ) -> ScheduleResult:
        """A scheduled prompt. ``text``: "<schedule> <prompt>"; or, with ``prompt`` given
        (the model's tool), only the schedule, every word of which must be read."""
        zone = zone_of(user)
        every = parse_every(text)
        if every is None or (prompt is not None and every.rest):
            return ScheduleResult(Scheduled.NO_SCHEDULE)
        raw = every.rest if prompt is None else prompt
        if len(raw) > MAX_PROMPT_CHARS:
            return ScheduleResult(Scheduled.TOO_LONG)
        what = clean_fact(raw, MAX_PROMPT_CHARS)
        if not what:
            return ScheduleResult(Scheduled.EMPTY)
        now = self._clock()
        rule = every.recurrence.rule()
        gap = shortest_gap(rule, zone, now)
        if gap is None or gap < timedelta(minutes=self.settings.min_interval_minutes):
            return ScheduleResult(Scheduled.TOO_OFTEN, recurrence=every.recurrence)
        first = next_run(rule, zone, now, now)
        if first is None:
            return ScheduleResult(Scheduled.NO_SCHEDULE)
        task = await self._add_within_cap(
            ScheduledTask(
                id="",
                user_id=user.user_id,
                chat_id=chat_id,
                thread_id=thread_id,
                kind="prompt",
                text=what,
                schedule=rule,
                timezone=zone.key,
                locale=locale,
                next_run=first,
            )
        )
        if task is None:
            return ScheduleResult(Scheduled.TOO_MANY)
        return ScheduleResult(
            Scheduled.SET,
            task,
            every.recurrence,
            first.astimezone(zone),
            zone_set=bool(user.prefs.timezone),
        )

    async def _add_within_cap(self, new: ScheduledTask) -> ScheduledTask | None:
        """Store ``new`` unless the user has as many tasks as allowed (None then).

        The count checked before ``add`` races with other requests of the user (two
        /every at once, the model's parallel tool calls, another instance): once stored, a
        task is kept only if fewer than the cap of the user's tasks are older; else it is
        taken back. Every request orders the same tasks the same way, so the cap holds."""
        cap = self.settings.max_per_user
        if await self._tasks.count_for(new.user_id) >= cap:
            return None
        task = await self._tasks.add(new)
        mine = await self._tasks.list_for(task.user_id)
        older = sum(
            1 for t in mine if (utc_ms(t.created_at), t.id) < (utc_ms(task.created_at), task.id)
        )
        if older < cap:
            return task
        await self._tasks.delete(task.user_id, task.id)
        return None

    async def cancel(self, user_id: int, task_id: str) -> bool:
        """Delete the user's task (False: not theirs, or gone already)."""
        return await self._tasks.delete(user_id, task_id)

    async def set_timezone(self, user_id: int, name: str) -> ZoneInfo | None:
        zone = valid_zone(name)
        if zone is not None:
            await self._users.set_prefs(user_id, timezone=zone.key)
        return zone


def next_run_of(task: ScheduledTask, after: datetime) -> datetime | None:
    """The Scheduler's NextRun: a recurring task's next run after ``after`` (in step with
    the run just done), None for a one-off (it is then done)."""
    if task.schedule is None:
        return None
    return next_run(task.schedule, zone_named(task.timezone), after, task.next_run)
