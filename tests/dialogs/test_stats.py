"""/stats: figures per window, user detail, per model, chart, CSV, admin-only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import SendDocument, SendPhoto
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator

from app.storage import Storage
from app.storage.tasks import ScheduledTask
from llmdoor.usage import UsageEvent

from .conftest import ADMIN_ID, FRIEND_ID, App

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def ev(days_ago: float, user_id: int | None, model: str, **kw: object) -> UsageEvent:
    return UsageEvent(user_id=user_id, model=model, created_at=NOW - timedelta(days=days_ago), **kw)


async def seed(storage: Storage) -> None:
    await storage.users.upsert_seen(FRIEND_ID, "bob", "Bob")
    await storage.usage.add_many(
        [
            # today (three: 100/300/200 ms, one error, one unpriced)
            ev(0.1, FRIEND_ID, "openai/gpt-4o", prompt_tokens=100, completion_tokens=50,
               cost_usd=0.01, latency_ms=100),
            ev(0.2, FRIEND_ID, "openai/gpt-4o", prompt_tokens=10, outcome="error",
               error_kind="rate_limit", latency_ms=300),
            ev(0.3, 300, "openai/gpt-4o-mini", prompt_tokens=20, completion_tokens=5,
               cost_usd=0.0023, latency_ms=200),
            # 3 days ago, 20 days ago, 100 days ago
            ev(3, FRIEND_ID, "openai/gpt-4o", prompt_tokens=1000, completion_tokens=500,
               cost_usd=0.5, latency_ms=400),
            ev(20, 300, "openai/gpt-4o-mini", prompt_tokens=1, completion_tokens=1,
               cost_usd=1.0, latency_ms=500),
            ev(100, None, "ollama/llama3", prompt_tokens=7, latency_ms=600),
        ]
    )  # fmt: skip


@pytest.fixture
async def seeded(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setattr("app.bot.dialogs.common.utcnow", lambda: NOW)
    await seed(app.storage)
    return app


async def open_stats(app: App, window: str | None = None) -> None:
    client = app.client(ADMIN_ID)
    await client.send("/stats")
    if window:
        await client.click(app.mm.last_message(), InlineButtonTextLocator(window))


def text(app: App) -> str:
    return app.mm.last_message().text or ""


async def test_today_figures(seeded: App) -> None:
    await open_stats(seeded, "Today \\(UTC\\)")
    t = text(seeded)
    assert "Usage statistics: Today (UTC)" in t
    assert "Requests: 3 (errors: 1)" in t
    assert "Tokens: 130 prompt / 55 completion" in t
    assert "Cost: $0.0123 + 1 unpriced" in t
    assert "Latency: median 200 ms, p95 300 ms" in t


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, ["Last 7 days", "Requests: 4 (errors: 1)", "Cost: $0.5123 + 1 unpriced"]),
        ("Last 30 days", ["Requests: 5 (errors: 1)", "Cost: $1.51 + 1 unpriced"]),
        ("All time", ["Requests: 6 (errors: 1)", "Cost: $1.51 + 2 unpriced", "p95 600 ms"]),
    ],
)
async def test_each_window(seeded: App, window: str | None, expected: list[str]) -> None:
    await open_stats(seeded, window)
    for part in expected:
        assert part in text(seeded)


async def test_per_user_and_detail(seeded: App) -> None:
    client = seeded.client(ADMIN_ID)
    await open_stats(seeded, "All time")
    await client.click(seeded.mm.last_message(), InlineButtonTextLocator("Users"))
    t = text(seeded)
    assert "300: 2 requests, 27 tokens, $1.00" in t
    assert "@bob: 3 requests, 1660 tokens, $0.5100 + 1 unpriced" in t
    assert "library calls (no user): 1 requests, 7 tokens, $0.00 + 1 unpriced" in t
    await client.click(seeded.mm.last_message(), InlineButtonTextLocator("@bob · 3 req"))
    d = text(seeded)
    assert "@bob (id 200)" in d
    assert "Requests: 3 (errors: 1)" in d
    assert "openai/gpt-4o: 3 requests, 1660 tokens, $0.5100 + 1 unpriced" in d
    assert "Recent errors:" in d and "rate_limit" in d


async def test_per_model(seeded: App) -> None:
    client = seeded.client(ADMIN_ID)
    await open_stats(seeded, "Today \\(UTC\\)")
    await client.click(seeded.mm.last_message(), InlineButtonTextLocator("Models"))
    t = text(seeded)
    assert "openai/gpt-4o: 2 requests (1 errors), 160 tokens, $0.0100 + 1 unpriced" in t
    assert "openai/gpt-4o-mini: 1 requests (0 errors), 25 tokens, $0.0023" in t


async def test_chart_is_png(seeded: App) -> None:
    await open_stats(seeded, "Last 30 days")
    await seeded.client(ADMIN_ID).click(seeded.mm.last_message(), InlineButtonTextLocator("Chart"))
    [photo] = seeded.bot.of(SendPhoto)
    assert photo.chat_id == ADMIN_ID
    assert photo.photo.data.startswith(PNG_SIGNATURE)


async def test_csv_has_one_row_per_record_in_window(seeded: App) -> None:
    await open_stats(seeded)  # 7 days: 4 records
    await seeded.client(ADMIN_ID).click(
        seeded.mm.last_message(), InlineButtonTextLocator("CSV export")
    )
    [doc] = seeded.bot.of(SendDocument)
    rows = list(csv.reader(io.StringIO(doc.document.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "created_at", "user_id"]
    assert len(rows) == 1 + 4


async def test_empty_window_chart_answers(app: App) -> None:
    await open_stats(app)
    await app.client(ADMIN_ID).click(app.mm.last_message(), InlineButtonTextLocator("Chart"))
    assert not app.bot.of(SendPhoto)
    assert any(a.text == "No usage in this period." for a in app.bot.answers())


@pytest.mark.parametrize("command", ["/stats", "/access"])
async def test_non_admin_falls_through(app: App, command: str) -> None:
    await app.client(FRIEND_ID).send(command)
    assert app.fallthrough == [command]
    assert not app.mm.sent_messages
    assert not app.bot.calls


async def test_tools_window_says_when_the_database_is_down(app: App) -> None:
    await app.storage.tools.record_call("web_search", True)
    await open_stats(app)
    menu = app.mm.last_message()
    app.storage.breaker.inject_outage()
    try:
        await app.client(ADMIN_ID).click(menu, InlineButtonTextLocator("Tools"))
        text = app.mm.last_message().text or ""
    finally:
        app.storage.breaker.clear_outage()
    assert "The database is unavailable right now" in text
    assert "No tool calls in this period" not in text


async def test_admins_see_scheduled_work_counts(app: App) -> None:
    await open_stats(app)
    assert "Scheduled work" not in text(app)  # nothing scheduled yet: no lines

    now = datetime.now(UTC)
    tasks = app.storage.tasks

    def task(user: int, at: datetime, **more: object) -> ScheduledTask:
        return ScheduledTask(id="", user_id=user, chat_id=user, text="x", next_run=at, **more)  # type: ignore[arg-type]

    await tasks.add(task(FRIEND_ID, now + timedelta(hours=1)))
    await tasks.add(task(FRIEND_ID, now - timedelta(hours=1)))  # the scheduler is behind
    paused = await tasks.add(task(300, now + timedelta(hours=1)))
    await tasks.set_status(300, paused.id, "paused")
    ran = await tasks.add(task(300, now - timedelta(minutes=1), kind="prompt", schedule="day 8:00"))
    assert await tasks.claim(ran.id, "i", now, now + timedelta(minutes=1)) is not None
    assert await tasks.finish(ran.id, "i", now, now + timedelta(days=1))
    await open_stats(app)
    t = text(app)
    assert "Scheduled work, now:" in t
    assert "Reminders: 2 active, 1 paused" in t
    assert "Scheduled prompts: 1 active, 0 paused" in t
    assert "Runs done: 1; due but late now: 1" in t
