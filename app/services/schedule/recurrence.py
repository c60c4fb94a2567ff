"""When a scheduled prompt runs again: ``day 8:00``, ``monday 9:00``, ``mon,thu 18:30``,
``weekday 7:30``, ``weekend 10:00``, a time alone (every day), or an interval (``2h``,
``30m``), in English or Russian words.

A schedule is kept in ``ScheduledTask.schedule`` as an RFC 5545 ``RRULE`` (python-dateutil
reads it back): calendar rules (``FREQ=DAILY``/``WEEKLY`` with ``BYHOUR``/``BYMINUTE``)
are wall-clock times in the task's time zone, so 8:00 stays 8:00 across a DST change;
intervals (``FREQ=MINUTELY``/``HOURLY``) are elapsed time, in step with the run before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from app.services.schedule.when import clock_of, weekday_of

_INTERVAL = re.compile(r"^(\d{1,4})\s*(m|min|h|hr)$", re.IGNORECASE)
_EVERY_WORDS = {"every", "each", "каждый", "каждую", "каждое", "каждые", "по"}
_AT_WORDS = {"at", "в", "во"}
_DAILY = {"day", "daily", "days", "день", "дню", "ежедневно", "днём"}
_WEEKDAYS = {"weekday", "weekdays", "workday", "workdays", "будни", "будням", "будний"}
_WEEKEND = {"weekend", "weekends", "выходные", "выходным"}
_HOURLY = {"hour", "hourly", "час", "ежечасно"}
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ALL_DAYS = tuple(range(7))
#: The longest interval read (a longer one is a day rule).
MAX_INTERVAL = timedelta(days=7)


@dataclass(frozen=True)
class Recurrence:
    """Either ``days`` at ``clock`` (local wall time) or every ``interval``."""

    days: tuple[int, ...] = ALL_DAYS  # Monday 0 … Sunday 6
    clock: time | None = None
    interval: timedelta | None = None

    def rule(self) -> str:
        if self.interval is not None:
            minutes = int(self.interval.total_seconds() // 60)
            if minutes % 60 == 0:
                return f"RRULE:FREQ=HOURLY;INTERVAL={minutes // 60}"
            return f"RRULE:FREQ=MINUTELY;INTERVAL={minutes}"
        assert self.clock is not None
        at = f"BYHOUR={self.clock.hour};BYMINUTE={self.clock.minute};BYSECOND=0"
        if self.days == ALL_DAYS:
            return f"RRULE:FREQ=DAILY;{at}"
        days = ",".join(_RRULE_DAYS[d] for d in self.days)
        return f"RRULE:FREQ=WEEKLY;BYDAY={days};{at}"


@dataclass(frozen=True)
class Every:
    recurrence: Recurrence
    rest: str  # the words after the schedule: the prompt


def from_rule(rule: str) -> Recurrence | None:
    """The Recurrence a stored rule was made from (None: not one of ours)."""
    parts = dict(p.split("=", 1) for p in rule.removeprefix("RRULE:").split(";") if "=" in p)
    try:
        freq = parts["FREQ"]
        if freq in ("MINUTELY", "HOURLY"):
            step = int(parts.get("INTERVAL", "1"))
            unit = timedelta(minutes=1) if freq == "MINUTELY" else timedelta(hours=1)
            return Recurrence(interval=step * unit)
        clock = time(int(parts["BYHOUR"]), int(parts["BYMINUTE"]))
        if freq == "DAILY":
            return Recurrence(clock=clock)
        days = tuple(sorted(_RRULE_DAYS.index(d) for d in parts["BYDAY"].split(",")))
        return Recurrence(days=days, clock=clock)
    except (KeyError, ValueError):
        return None


def _days(word: str) -> tuple[int, ...] | None:
    if word in _DAILY:
        return ALL_DAYS
    if word in _WEEKDAYS:
        return (0, 1, 2, 3, 4)
    if word in _WEEKEND:
        return (5, 6)
    named = [weekday_of(w) for w in word.split(",") if w]
    if named and all(d is not None for d in named):
        return tuple(sorted({d for d in named if d is not None}))
    return None


def parse_every(text: str) -> Every | None:
    """``text`` as "<schedule> <prompt>"; None when no schedule could be read."""
    words = text.split()
    while words and words[0].lower() in _EVERY_WORDS:
        words = words[1:]
    if not words:
        return None
    first = words[0].lower()
    interval = _INTERVAL.match(first)
    if interval is not None or first in _HOURLY:
        amount, unit = (int(interval.group(1)), interval.group(2).lower()) if interval else (1, "h")
        step = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
        if step <= timedelta(0) or step > MAX_INTERVAL:
            return None
        return Every(Recurrence(interval=step), " ".join(words[1:]))
    clock = clock_of(first)
    if clock is not None:  # a time alone: every day
        return Every(Recurrence(clock=clock), " ".join(words[1:]))
    days = _days(first)
    if days is None:
        return None
    rest = words[1:]
    if rest and rest[0].lower() in _AT_WORDS:
        rest = rest[1:]
    clock = clock_of(rest[0]) if rest else None
    if clock is None:
        return None
    return Every(Recurrence(days=days, clock=clock), " ".join(rest[1:]))


def _naive(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def next_run(rule: str, zone: ZoneInfo, after: datetime, anchor: datetime) -> datetime | None:
    """The first run strictly after ``after`` (aware). ``anchor``: the run an interval
    keeps in step with (the one just done, or the time it was set). None: an unreadable
    rule (the task then ends)."""
    after = after.astimezone(UTC)
    recurrence = from_rule(rule)
    if recurrence is None:
        return None
    if recurrence.interval is not None:
        step = recurrence.interval
        start = anchor.astimezone(UTC)
        if start < after:  # straight to the last step before ``after``: no long walk
            start += ((after - start) // step) * step
        found = rrulestr(rule, dtstart=_naive(start, UTC)).after(_naive(after, UTC))
        return found.replace(tzinfo=UTC) if found is not None else None
    # Wall-clock times: walked in local time, then placed in the zone (a time skipped by
    # a DST change lands just after it, and a repeated one takes its first instance).
    local = _naive(after, zone)
    rule_set: rrule = rrulestr(rule, dtstart=local.replace(second=0, microsecond=0))  # type: ignore[assignment]
    for found in rule_set.xafter(local, count=3):
        at = found.replace(tzinfo=zone).astimezone(UTC)
        if at > after:
            return at
    return None


def shortest_gap(rule: str, zone: ZoneInfo, now: datetime) -> timedelta | None:
    """The shortest time between two runs of the rule in the coming two weeks; for a
    calendar rule in wall-clock time, as it is set (8:00 daily is a day apart, also over
    the 23-hour night of a clock change)."""
    recurrence = from_rule(rule)
    if recurrence is None:
        return None
    if recurrence.interval is not None:
        return recurrence.interval
    runs: list[datetime] = []
    at: datetime | None = now
    while at is not None and len(runs) < 15:
        at = next_run(rule, zone, at, now)
        if at is not None:
            runs.append(at)
    gaps = [_naive(b, zone) - _naive(a, zone) for a, b in pairwise(runs)]
    return min(gaps) if gaps else None
