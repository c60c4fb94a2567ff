"""What the bot says about reminders, in the user's language."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _


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
