"""The ``schedule`` tool: the model sets a reminder or a scheduled prompt when the user asks
for one in words ("remind me in 20 minutes to call mum"). It goes through ScheduleService,
so the caps and the reading of times are those of /remind and /every; the arguments come
from the model (and so, indirectly, from anything it read) and are checked like user input.
Every task set is shown to the user with a cancel button (ScheduleSink)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from app.services.schedule.service import (
    MAX_PROMPT_CHARS,
    Reminded,
    Scheduled,
    ScheduleService,
)
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from app.storage.tasks import ScheduledTask
from llmdoor import Tool

log = logging.getLogger(__name__)

NAME = "schedule"
MAX_WHEN_CHARS = 60
#: Tasks one answer may set: a model looping on the tool stops here.
MAX_PER_ANSWER = 3
DESCRIPTION = (
    "Set a reminder or a recurring prompt, only when the user asks for one. kind 'reminder': "
    "text is sent once at when ('20m', '2h', 'tomorrow 9:00', 'monday 18:30', "
    "'2026-12-24 18:00'). kind 'prompt': text is answered as a new request at every run of "
    "when ('day 8:00', 'monday 9:00', 'weekday 7:30', '2h'). Local times. The user sees it "
    "with a cancel button."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["reminder", "prompt"]},
        "when": {"type": "string"},
        "text": {"type": "string"},
    },
    "required": ["kind", "when", "text"],
}


@runtime_checkable
class ScheduleSink(Protocol):
    """An AnswerSink that shows the tasks the model set (optional for AnswerSinks)."""

    async def scheduled(self, tasks: Sequence[ScheduledTask]) -> None: ...


@dataclass(frozen=True)
class Where:
    """Where the tasks of one answer are delivered, and in which language."""

    chat_id: int
    thread_id: int
    locale: str


def _argument(arguments: dict[str, Any], name: str, limit: int) -> str | None:
    value = arguments.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value


def schedule_tool(
    service: ScheduleService, user: UserRecord, where: Where, kept: list[ScheduledTask]
) -> Tool:
    """The tool for one answer to ``user``; the tasks it sets are appended to ``kept``."""

    async def run(arguments: dict[str, Any]) -> str:
        kind = arguments.get("kind")
        when = _argument(arguments, "when", MAX_WHEN_CHARS)
        text = _argument(arguments, "text", MAX_PROMPT_CHARS)
        if kind not in ("reminder", "prompt") or when is None or text is None:
            return (
                "Nothing set: 'kind' must be 'reminder' or 'prompt', 'when' a short time "
                f"(at most {MAX_WHEN_CHARS} characters) and 'text' non-empty "
                f"(at most {MAX_PROMPT_CHARS} characters)."
            )
        if len(kept) >= MAX_PER_ANSWER:
            return "Nothing set: that is enough for one answer. Do not try again."
        try:
            if kind == "reminder":
                return await _remind(service, user, where, when, text, kept)
            return await _every(service, user, where, when, text, kept)
        except StorageUnavailable:
            return "The database is unavailable right now; nothing was set."

    return Tool(
        name=NAME,
        description=DESCRIPTION,
        parameters=PARAMETERS,
        run=run,
        tags=frozenset({"schedule"}),
    )


async def _remind(
    service: ScheduleService,
    user: UserRecord,
    where: Where,
    when: str,
    text: str,
    kept: list[ScheduledTask],
) -> str:
    result = await service.remind(
        user, where.chat_id, where.thread_id, when, where.locale, what=text
    )
    if result.status is Reminded.SET and result.task is not None and result.local_time:
        kept.append(result.task)
        at = result.local_time.strftime("%Y-%m-%d %H:%M")
        return f"Reminder set for {at} ({result.task.timezone}). The user sees it."
    if result.status is Reminded.TOO_MANY:
        return "Nothing set: the user has as many tasks as allowed. Do not try again."
    if result.status is Reminded.EMPTY:
        return "Nothing set: the text was empty."
    return "Nothing set: 'when' could not be read as a future time; use a form of the examples."


async def _every(
    service: ScheduleService,
    user: UserRecord,
    where: Where,
    when: str,
    text: str,
    kept: list[ScheduledTask],
) -> str:
    result = await service.every(
        user, where.chat_id, where.thread_id, when, where.locale, prompt=text
    )
    if result.status is Scheduled.SET and result.task is not None and result.local_time:
        kept.append(result.task)
        at = result.local_time.strftime("%Y-%m-%d %H:%M")
        return f"Scheduled; first run {at} ({result.task.timezone}). The user sees it."
    if result.status is Scheduled.TOO_MANY:
        return "Nothing set: the user has as many tasks as allowed. Do not try again."
    if result.status is Scheduled.TOO_OFTEN:
        minutes = service.settings.min_interval_minutes
        return f"Nothing set: runs must be at least {minutes} minutes apart."
    if result.status is Scheduled.EMPTY:
        return "Nothing set: the text was empty."
    return "Nothing set: 'when' could not be read as a schedule; use a form of the examples."
