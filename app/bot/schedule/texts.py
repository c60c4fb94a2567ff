"""What the bot says about reminders and scheduled prompts, in the user's language."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from app.bot.rendering import tasks
from app.services.schedule.recurrence import Recurrence


def remind_usage() -> str:
    return _(
        "⏰ Write when and what, e.g. /remind 10m call mum, /remind tomorrow 9:00 dentist, "
        "/remind monday 18:30 gym, /remind 2026-12-24 18:00 dinner."
    )


def reminder_set(local: datetime, zone: str, zone_set: bool) -> str:
    text = _("⏰ I'll remind you on {when} ({zone}).").format(
        when=local.strftime("%Y-%m-%d %H:%M"), zone=zone
    )
    if not zone_set:
        text += "\n" + _("Times are in UTC until you set your time zone: /timezone Europe/Oslo")
    return text


def reminder_empty() -> str:
    return _("⏰ And what should I remind you of? Write it after the time.")


def too_many(limit: int) -> str:
    return _("⏰ You already have {limit} reminders, the most I keep.").format(limit=limit)


def reminder(text: str) -> str:
    return _("⏰ Reminder: {text}").format(text=text)


def missed(text: str) -> str:
    return _("⏰ I was offline when this reminder was due, so it is late: {text}").format(text=text)


def timezone_usage(current: str) -> str:
    return _(
        "🕰 Your time zone is {zone}. Set it with /timezone Area/City, e.g. /timezone Europe/Berlin."
    ).format(zone=current)


def timezone_set(zone: str, now: datetime) -> str:
    return _("🕰 Time zone set to {zone}; it is {time} there now.").format(
        zone=zone, time=now.strftime("%H:%M")
    )


def timezone_unknown(name: str) -> str:
    return _("🕰 I don't know the time zone «{name}». Use Area/City, e.g. Europe/Berlin.").format(
        name=name
    )


def storage_down() -> str:
    return _("⚠️ The database is unavailable right now. Try again later.")


# ---------------------------------------------------------------- scheduled prompts


def every_usage() -> str:
    return _(
        "🔁 Write a schedule and a prompt, e.g. /every day 8:00 the three most important AI "
        "news, with sources; /every monday 9:00 a plan for the week; /every weekday 7:30 the "
        "weather in Oslo; /every 2h a quote."
    )


def schedule_set(
    recurrence: Recurrence, first: datetime, zone: str, zone_set: bool, prompt: str
) -> str:
    text = tasks.schedule_set(recurrence, first, zone, prompt)
    if not zone_set:
        text += "\n" + _("Times are in UTC until you set your time zone: /timezone Europe/Oslo")
    return text


def prompt_empty() -> str:
    return _("🔁 And what should I answer each time? Write the prompt after the schedule.")


def prompt_too_long(limit: int) -> str:
    return _("🔁 The prompt is too long; the limit is {limit} characters.").format(limit=limit)


def too_often(minutes: int) -> str:
    return _(
        "🔁 A scheduled prompt runs at most once every {minutes} minutes: each run is a paid "
        "model call."
    ).format(minutes=minutes)


def tasks_too_many(limit: int) -> str:
    return _(
        "🔁 You already have {limit} reminders and scheduled prompts, the most I keep."
    ).format(limit=limit)


def budget_skipped(prompt: str) -> str:
    return _(
        "🔁 Your scheduled prompt was skipped: your budget for today is spent. Its next runs "
        "go ahead when there is budget again; I won't repeat this note. The prompt: {prompt}"
    ).format(prompt=tasks.short(prompt))


def prompt_missed(prompt: str) -> str:
    return _(
        "🔁 I was offline when this scheduled prompt was due, so that run was skipped: {prompt}"
    ).format(prompt=tasks.short(prompt))


def cancelled() -> str:
    return _("❌ Cancelled.")


def cancel_not_yours() -> str:
    return _("This button belongs to the person who set the task.")


def cancel_gone() -> str:
    return _("This task is no longer there.")
