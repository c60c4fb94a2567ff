"""How a task just set is shown: its schedule in words, the one line that confirms it,
and its ❌ Cancel button. Shared by /every (app.bot.schedule) and the answer that set a
task through the model's tool (app.bot.chat.sink)."""

from __future__ import annotations

from datetime import datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from app.services.schedule.recurrence import ALL_DAYS, Recurrence, from_rule
from app.services.schedule.service import zone_named
from app.storage.tasks import ScheduledTask


class CancelTaskCallback(CallbackData, prefix="untask"):
    owner: int
    task: str  # the task's id (24 or 32 characters: fits Telegram's 64 bytes)


def cancel_keyboard(owner: int, task_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("❌ Cancel"),
                    callback_data=CancelTaskCallback(owner=owner, task=task_id).pack(),
                )
            ]
        ]
    )


def _day_names() -> tuple[str, ...]:
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def describe(recurrence: Recurrence) -> str:
    """When a schedule runs, in words: "every day at 08:00", "every 2 h"."""
    if recurrence.interval is not None:
        minutes = int(recurrence.interval.total_seconds() // 60)
        if minutes % 60 == 0:
            return _("every {hours} h").format(hours=minutes // 60)
        return _("every {minutes} min").format(minutes=minutes)
    at = recurrence.clock.strftime("%H:%M") if recurrence.clock else ""
    if recurrence.days == ALL_DAYS:
        return _("every day at {time}").format(time=at)
    if recurrence.days == (0, 1, 2, 3, 4):
        return _("on weekdays at {time}").format(time=at)
    if recurrence.days == (5, 6):
        return _("at weekends at {time}").format(time=at)
    names = _day_names()
    days = ", ".join(names[d] for d in recurrence.days)
    return _("every {days} at {time}").format(days=days, time=at)


def short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schedule_set(recurrence: Recurrence, first: datetime, zone: str, prompt: str) -> str:
    return _("🔁 Scheduled {schedule} ({zone}), first run {when}: {prompt}").format(
        schedule=describe(recurrence),
        zone=zone,
        when=first.strftime("%Y-%m-%d %H:%M"),
        prompt=short(prompt),
    )


def task_set(task: ScheduledTask) -> str:
    """The one line under a task the model set for the user."""
    local = task.next_run.astimezone(zone_named(task.timezone))
    when = local.strftime("%Y-%m-%d %H:%M")
    recurrence = from_rule(task.schedule) if task.schedule else None
    if task.kind == "prompt" and recurrence is not None:
        return schedule_set(recurrence, local, task.timezone, task.text)
    return _("⏰ Reminder set for {when} ({zone}): {text}").format(
        when=when, zone=task.timezone, text=short(task.text)
    )
