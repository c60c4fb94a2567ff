"""ScheduleService: a user's reminders, plain inputs and outcomes. The time zone is the
user's (UTC until they set one with /timezone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.services.memory.service import clean_fact
from app.services.schedule.settings import ScheduleSettings
from app.services.schedule.when import parse_due
from app.storage import Storage, UserRecord
from app.storage.tasks import ScheduledTask

MAX_TEXT_CHARS = 1000


class Reminded(StrEnum):
    SET = "set"
    NO_TIME = "no_time"  # no time could be read, or it is past or too far
    EMPTY = "empty"  # a time, but nothing to remind of
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class ReminderResult:
    status: Reminded
    task: ScheduledTask | None = None
    local_time: datetime | None = None  # when, in the user's zone
    zone_set: bool = False  # the user chose their zone (else UTC, and they are told how)


def zone_of(user: UserRecord) -> ZoneInfo:
    name = user.prefs.timezone
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a zone removed from the tz database since: UTC
    return ZoneInfo("UTC")


def valid_zone(name: str) -> ZoneInfo | None:
    """``Area/City`` from the tz database; None for anything else."""
    name = name.strip()
    if not name or ".." in name or name.startswith("/"):
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
        self, user: UserRecord, chat_id: int, thread_id: int, text: str, locale: str = "en"
    ) -> ReminderResult:
        zone = zone_of(user)
        due = await parse_due(text, self._clock(), zone)
        if due is None:
            return ReminderResult(Reminded.NO_TIME)
        what = clean_fact(due.rest, MAX_TEXT_CHARS)
        if not what:
            return ReminderResult(Reminded.EMPTY)
        if await self._tasks.count_for(user.user_id) >= self.settings.max_per_user:
            return ReminderResult(Reminded.TOO_MANY)
        task = await self._tasks.add(
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
        return ReminderResult(
            Reminded.SET, task, due.at.astimezone(zone), zone_set=bool(user.prefs.timezone)
        )

    async def set_timezone(self, user_id: int, name: str) -> ZoneInfo | None:
        zone = valid_zone(name)
        if zone is not None:
            await self._users.set_prefs(user_id, timezone=zone.key)
        return zone
