"""Reading a schedule (/every) and moving a recurring task to its next run: wall-clock
times stay put across DST changes, intervals keep in step with the run before."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.services.schedule.recurrence import (
    Recurrence,
    from_rule,
    next_run,
    parse_every,
    shortest_gap,
)
from app.services.schedule.service import Scheduled, ScheduleService, next_run_of
from app.services.schedule.settings import ScheduleSettings
from app.storage import UserRecord, open_memory_storage
from app.storage.tasks import ScheduledTask

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
DAILY_8 = "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"


def test_schedules_in_words() -> None:
    cases = {
        "day 8:00 the news": (Recurrence(clock=time(8, 0)), "the news"),
        "every day at 8:00 the news": (Recurrence(clock=time(8, 0)), "the news"),
        "daily 08.15 x": (Recurrence(clock=time(8, 15)), "x"),
        "7:30 x": (Recurrence(clock=time(7, 30)), "x"),
        "monday 9:00 plan the week": (Recurrence(days=(0,), clock=time(9, 0)), "plan the week"),
        "mon,thu 18:30 gym": (Recurrence(days=(0, 3), clock=time(18, 30)), "gym"),
        "weekday 7:30 weather": (Recurrence(days=(0, 1, 2, 3, 4), clock=time(7, 30)), "weather"),
        "weekend 10:00 x": (Recurrence(days=(5, 6), clock=time(10, 0)), "x"),
        "будни 7:30 погода": (Recurrence(days=(0, 1, 2, 3, 4), clock=time(7, 30)), "погода"),
        "каждый день в 9:00 новости": (Recurrence(clock=time(9, 0)), "новости"),
        "пятницу 18:00 x": (Recurrence(days=(4,), clock=time(18, 0)), "x"),
        "2h a quote": (Recurrence(interval=timedelta(hours=2)), "a quote"),
        "30m x": (Recurrence(interval=timedelta(minutes=30)), "x"),
        "90min x": (Recurrence(interval=timedelta(minutes=90)), "x"),
        "hourly x": (Recurrence(interval=timedelta(hours=1)), "x"),
    }
    for text, (recurrence, rest) in cases.items():
        found = parse_every(text)
        assert found is not None, text
        assert (found.recurrence, found.rest) == (recurrence, rest), text


def test_what_is_not_a_schedule() -> None:
    for text in ("", "every", "day the news", "monday", "tomorrow 9:00 x", "25:00 x",
                 "0m x", "9999h x", "blursday 9:00 x", "day 8:61 x"):  # fmt: skip
        assert parse_every(text) is None, text


def test_rules_are_stored_and_read_back() -> None:
    for recurrence in (
        Recurrence(clock=time(8, 0)),
        Recurrence(days=(0, 3), clock=time(18, 30)),
        Recurrence(interval=timedelta(hours=2)),
        Recurrence(interval=timedelta(minutes=90)),
    ):
        assert from_rule(recurrence.rule()) == recurrence
    assert Recurrence(clock=time(8, 0)).rule() == DAILY_8
    assert from_rule("RRULE:FREQ=YEARLY") is None
    assert from_rule("nonsense") is None
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_run("nonsense", UTC_ZONE, start, start) is None


def test_8_00_stays_8_00_local_across_the_spring_and_autumn_changes() -> None:
    # Europe: summer time starts on 29 March 2026 and ends on 25 October 2026.
    at = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)  # Friday 8:00 in Berlin (UTC+1)
    runs = []
    for _ in range(4):
        nxt = next_run(DAILY_8, BERLIN, at, at)
        assert nxt is not None
        runs.append(nxt)
        at = nxt
    assert [r.astimezone(BERLIN).hour for r in runs] == [8, 8, 8, 8]
    assert [r.hour for r in runs] == [7, 6, 6, 6]  # in UTC: one hour earlier from the 29th
    autumn = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)  # Saturday 8:00 (UTC+2)
    nxt = next_run(DAILY_8, BERLIN, autumn, autumn)
    assert nxt == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 8:00 at UTC+1
    assert nxt - autumn == timedelta(hours=25)


def test_a_time_the_change_skips_or_repeats_runs_once() -> None:
    # New York, 8 March 2026: 2:00 jumps to 3:00; 1 November 2026: 1:00-2:00 twice.
    rule = Recurrence(clock=time(2, 30)).rule()
    before = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 1:00 EST
    nxt = next_run(rule, NEW_YORK, before, before)
    assert nxt == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # lands just after the jump
    after = next_run(rule, NEW_YORK, nxt, nxt)
    assert after is not None and after.astimezone(NEW_YORK).hour == 2  # 2:30 the next day
    rule = Recurrence(clock=time(1, 30)).rule()
    night = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 0:00 EDT
    first = next_run(rule, NEW_YORK, night, night)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 1:30 (EDT)
    second = next_run(rule, NEW_YORK, first, first)
    assert second == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # not the repeated 1:30


def test_weekly_days_and_weekdays() -> None:
    monday = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    rule = Recurrence(days=(0, 3), clock=time(9, 0)).rule()
    nxt = next_run(rule, UTC_ZONE, monday, monday)
    assert nxt == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # Thursday
    friday_evening = datetime(2026, 12, 11, 20, 0, tzinfo=UTC)
    weekday = Recurrence(days=(0, 1, 2, 3, 4), clock=time(7, 30)).rule()
    assert next_run(weekday, UTC_ZONE, friday_evening, friday_evening) == datetime(
        2026, 12, 14, 7, 30, tzinfo=UTC
    )


def test_an_interval_keeps_in_step_and_skips_what_was_missed() -> None:
    rule = Recurrence(interval=timedelta(hours=2)).rule()
    anchor = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    # Run a few seconds late: the next is still 10:00, not 10:00:05.
    assert next_run(rule, BERLIN, anchor + timedelta(seconds=5), anchor) == anchor + timedelta(
        hours=2
    )
    # The bot was down for a day and a half: the next step after now, in step.
    later = anchor + timedelta(days=1, hours=13, minutes=20)
    assert next_run(rule, BERLIN, later, anchor) == anchor + timedelta(days=1, hours=14)
    # Across a DST change an interval is elapsed time.
    spring = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert next_run(rule, BERLIN, spring, spring) == spring + timedelta(hours=2)


def test_shortest_gap() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert shortest_gap(Recurrence(interval=timedelta(minutes=30)).rule(), BERLIN, now) == (
        timedelta(minutes=30)
    )
    assert shortest_gap(DAILY_8, BERLIN, now) == timedelta(days=1)
    mon_tue = Recurrence(days=(0, 1), clock=time(9, 0)).rule()
    assert shortest_gap(mon_tue, BERLIN, now) == timedelta(days=1)
    # The night the clocks go forward is 23 hours long, but 8:00 daily is still a day apart.
    assert shortest_gap(DAILY_8, BERLIN, datetime(2026, 3, 27, 12, 0, tzinfo=UTC)) == timedelta(
        days=1
    )
    assert shortest_gap("nonsense", BERLIN, now) is None


def test_the_schedulers_next_run_for_tasks() -> None:
    at = datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # Saturday 8:00 in Berlin
    once = ScheduledTask(id="1", user_id=1, chat_id=1, text="x", next_run=at)
    assert next_run_of(once, at) is None  # a reminder is done after its run
    daily = once.model_copy(update={"schedule": DAILY_8, "timezone": "Europe/Berlin"})
    assert next_run_of(daily, at + timedelta(seconds=3)) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # Skipped (too late) two days on: the next one after now.
    assert next_run_of(daily, at + timedelta(days=2, hours=1)) == datetime(
        2026, 3, 31, 6, 0, tzinfo=UTC
    )
    gone_zone = daily.model_copy(update={"timezone": "Mars/Olympus"})  # UTC then
    assert next_run_of(gone_zone, at) == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


async def test_a_daily_schedule_passes_a_one_day_minimum_all_year() -> None:
    # With SCHEDULE_MIN_INTERVAL_MINUTES=1440 ("at most daily"), "/every day 8:00" was
    # refused in the two weeks before a clock change (one gap is 23 hours) and accepted
    # the rest of the year.
    storage = open_memory_storage()
    user = UserRecord(user_id=1)
    user.prefs.timezone = "Europe/Berlin"
    settings = ScheduleSettings(min_interval_minutes=1440)
    for now in (datetime(2026, 12, 7, 12, 0, tzinfo=UTC), datetime(2026, 3, 27, 12, 0, tzinfo=UTC)):
        service = ScheduleService(storage, settings, clock=lambda now=now: now)
        result = await service.every(user, 1, 0, "day 8:00 the news")
        assert result.status is Scheduled.SET, now
    service = ScheduleService(storage, settings, clock=lambda: datetime(2026, 3, 27, tzinfo=UTC))
    assert (await service.every(user, 1, 0, "12h the news")).status is Scheduled.TOO_OFTEN
