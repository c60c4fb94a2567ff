"""Reading when a reminder is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.services.schedule.when import parse_due

# Monday 7 December 2026, 10:00 in Oslo (09:00 UTC).
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


async def test_relative_times() -> None:
    for text, delta in (("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)),
                        ("2h", timedelta(hours=2)), ("3d", timedelta(days=3))):  # fmt: skip
        due = await parse_due(f"{text} call mum", NOW, OSLO)
        assert due is not None and due.at == NOW + delta and due.rest == "call mum"


async def test_days_and_clock_times_in_the_users_zone() -> None:
    due = await parse_due("tomorrow 9:00 dentist", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert due.rest == "dentist"
    # Monday 18:30 is later today; Monday 9:00 has passed: next week.
    due = await parse_due("monday 18:30 gym", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 7, 17, 30, tzinfo=UTC)
    due = await parse_due("monday 9:00 gym", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
    due = await parse_due("завтра 9:00 врач", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    due = await parse_due("2026-12-24 18:00 dinner", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    due = await parse_due("24.12.2026 18:00 dinner", NOW, OSLO)
    assert due is not None and due.at == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    due = await parse_due("8:30 stand-up", NOW, OSLO)  # passed today: tomorrow
    assert due is not None and due.at == datetime(2026, 12, 8, 7, 30, tzinfo=UTC)


async def test_other_phrasings_through_dateparser() -> None:
    due = await parse_due("in 20 minutes call mum", NOW, OSLO)
    assert due is not None and due.at == NOW + timedelta(minutes=20)
    assert due.rest == "call mum"


async def test_nonsense_past_and_far_future_are_refused() -> None:
    assert await parse_due("whenever call mum", NOW, OSLO) is None
    assert await parse_due("2025-01-01 10:00 late", NOW, OSLO) is None
    assert await parse_due("2030-01-01 10:00 far", NOW, OSLO) is None
    assert await parse_due("", NOW, OSLO) is None


async def test_dates_at_the_ends_of_the_calendar_are_refused_not_raised() -> None:
    # 9999-12-31 23:00 in New York is in the year 10000 in UTC; 0001-01-01 in Tokyo is in
    # the year 0: neither exists, and a typed date must not crash the handler.
    new_york, tokyo = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
    assert await parse_due("31.12.9999 23:00 far", NOW, new_york) is None
    assert await parse_due("9999-12-31 23:30 far", NOW, new_york) is None
    assert await parse_due("0001-01-01 00:30 past", NOW, tokyo) is None
    assert await parse_due("December 31 9999 11pm far", NOW, new_york) is None


async def test_dateparser_never_reads_a_long_word(monkeypatch: pytest.MonkeyPatch) -> None:
    # dateparser takes seconds over a few thousand characters of one word, holding the
    # GIL (its worker thread stalls every chat): a time is never that long.
    import dateparser

    asked: list[str] = []
    real = dateparser.parse

    def parse(text: str, **kwargs: Any) -> Any:
        asked.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(dateparser, "parse", parse)
    assert await parse_due("a" * 4000 + " call mum", NOW, OSLO) is None
    assert await parse_due(" ".join(["9" * 800] * 5), NOW, OSLO) is None
    assert all(len(text) <= 100 for text in asked), [len(t) for t in asked]
    due = await parse_due("in 20 minutes call mum", NOW, OSLO)  # still read
    assert due is not None and due.at == NOW + timedelta(minutes=20)


def test_only_zones_of_the_tz_database_are_taken() -> None:
    from app.services.schedule.service import valid_zone

    for name in ("Europe/Oslo", "America/New_York", "UTC", " Asia/Tokyo "):
        zone = valid_zone(name)
        assert zone is not None and zone.key == name.strip()
    bad = ("localtime", "posixrules", "Factory", "Mars/Olympus", "../etc/passwd", "/etc/localtime")
    for name in (*bad, ""):
        assert valid_zone(name) is None, name
