"""When a reminder is due, read from what a person types: ``30s``, ``10m``, ``2h``, ``3d``,
``tomorrow 9:00``, ``monday 18:30``, ``2026-12-24 18:00``, ``24.12.2026 18:00`` (English and
Russian day names), in the user's time zone. The common forms are read here, exactly and
at once; anything else goes to dateparser (many languages and phrasings), which is slow to
load, so it runs in a worker thread. The text after the time is what to send.

Always in the future: a time of day already past today means tomorrow (or next week for a
day name)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_RELATIVE = re.compile(r"^(\d{1,5})\s*(s|sec|m|min|h|d)$", re.IGNORECASE)
_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
}
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DOT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_DAYS = {
    "monday": 0, "mon": 0, "понедельник": 0, "пн": 0,
    "tuesday": 1, "tue": 1, "вторник": 1, "вт": 1,
    "wednesday": 2, "wed": 2, "среда": 2, "среду": 2, "ср": 2,
    "thursday": 3, "thu": 3, "четверг": 3, "чт": 3,
    "friday": 4, "fri": 4, "пятница": 4, "пятницу": 4, "пт": 4,
    "saturday": 5, "sat": 5, "суббота": 5, "субботу": 5, "сб": 5,
    "sunday": 6, "sun": 6, "воскресенье": 6, "вс": 6,
}  # fmt: skip
_TODAY = {"today", "сегодня"}
_TOMORROW = {"tomorrow", "завтра"}
#: The longest time expression tried, in words ("next friday at 18:30").
MAX_WHEN_WORDS = 5
#: The longest time expression handed to dateparser, in characters: it takes seconds over
#: a few thousand characters, holding the GIL (so its thread stalls the event loop too).
MAX_WHEN_CHARS = 60
#: A reminder further away than this is refused as a typo.
MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Due:
    at: datetime  # aware, UTC
    rest: str  # the words after the time: what to remind of


def _clock(word: str) -> time | None:
    found = _CLOCK.match(word)
    if found is None:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def clock_of(word: str) -> time | None:
    """``9:00`` / ``18.30`` as a time of day; None for anything else."""
    return _clock(word)


def weekday_of(word: str) -> int | None:
    """A day name (English or Russian, full or short) as Monday 0 … Sunday 6."""
    return _DAYS.get(word.lower())


def _date(word: str) -> date | None:
    for pattern, order in ((_ISO_DATE, (1, 2, 3)), (_DOT_DATE, (3, 2, 1))):
        found = pattern.match(word)
        if found is not None:
            year, month, day = (int(found.group(i)) for i in order)
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _exact(words: list[str], now: datetime, zone: ZoneInfo) -> tuple[datetime, int] | None:
    """The forms read here: (when, words used)."""
    first = words[0].lower()
    relative = _RELATIVE.match(first)
    if relative is not None:
        amount = int(relative.group(1))
        return now + timedelta(**{_UNITS[relative.group(2).lower()]: amount}), 1
    local = now.astimezone(zone)
    clock = _clock(words[1]) if len(words) > 1 else None
    if first in _TODAY | _TOMORROW and clock is not None:
        day = local.date() + timedelta(days=1 if first in _TOMORROW else 0)
        return _at(day, clock, zone), 2
    if first in _DAYS and clock is not None:
        ahead = (_DAYS[first] - local.weekday()) % 7
        at = _at(local.date() + timedelta(days=ahead), clock, zone)
        return (at if at > now else at + timedelta(days=7)), 2
    on = _date(first)
    if on is not None and clock is not None:
        return _at(on, clock, zone), 2
    only = _clock(first)
    if only is not None:  # a time of day alone: the next one
        at = _at(local.date(), only, zone)
        return (at if at > now else _at(local.date() + timedelta(days=1), only, zone)), 1
    return None


def _fuzzy(words: list[str], now: datetime, zone: ZoneInfo) -> tuple[datetime, int] | None:
    import dateparser  # about 0.6 s to import: only when a phrasing needs it

    settings = {
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
    }
    for size in range(min(MAX_WHEN_WORDS, len(words)), 0, -1):
        phrase = " ".join(words[:size])
        if len(phrase) > MAX_WHEN_CHARS:
            continue
        found = dateparser.parse(phrase, settings=settings)  # type: ignore[arg-type]
        if found is not None:
            return found.astimezone(UTC), size
    return None


async def parse_due(text: str, now: datetime, zone: ZoneInfo) -> Due | None:
    """``text`` as "<when> <what>"; None when no time could be read, it is not in the
    future, or it is more than a year away."""
    words = text.split()
    if not words:
        return None
    try:
        found = _exact(words, now, zone) or await asyncio.to_thread(_fuzzy, words, now, zone)
    except OverflowError:  # a date at the ends of the calendar, out of range in UTC
        return None
    if found is None:
        return None
    at, used = found
    if at <= now or at - now > MAX_AHEAD:
        return None
    return Due(at=at, rest=" ".join(words[used:]))
