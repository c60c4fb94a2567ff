"""/tasks: the owner's reminders and scheduled prompts, paged, with pause, resume and delete;
stale and forged buttons change nothing and are answered; a group lists only its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiogram.types import CallbackQuery, InlineKeyboardButton, Message, Update
from aiogram_dialog.test_tools import BotClient
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator
from aiogram_dialog.utils import remove_intent_id

from app.storage.tasks import ScheduledTask

from .conftest import ADMIN_ID, FRIEND_ID, App

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


async def add(
    app: App, text: str, *, user: int = FRIEND_ID, chat: int | None = None, **more: object
) -> ScheduledTask:
    fields: dict[str, object] = {"next_run": SOON} | more
    task = ScheduledTask(id="", user_id=user, chat_id=chat or user, text=text, **fields)  # type: ignore[arg-type]
    return await app.storage.tasks.add(task)


def text(app: App) -> str:
    return app.mm.last_message().text or ""


def buttons(message: Message) -> list[InlineKeyboardButton]:
    markup = message.reply_markup
    return [b for row in markup.inline_keyboard for b in row] if markup else []


def labels(app: App) -> list[str]:
    return [b.text for b in buttons(app.mm.last_message())]


async def press(client: BotClient, app: App, label: str) -> None:
    await client.click(app.mm.last_message(), InlineButtonTextLocator(label))


async def forged(client: BotClient, message: Message, widget_data: str) -> None:
    """A callback with the menu's own intent id but widget data of the sender's choosing."""
    intent = remove_intent_id(buttons(message)[0].callback_data or "")[0]
    query = CallbackQuery(
        id=str(uuid.uuid4()),
        data=f"{intent}\x1d{widget_data}",
        chat_instance="--",
        from_user=client.user,
        message=message,
    )
    await client.dp.feed_update(client.bot, Update(update_id=99_999, callback_query=query))


async def test_empty_list_says_how_to_create_one(app: App) -> None:
    await app.client(FRIEND_ID).send("/tasks")
    assert "no reminders or scheduled prompts" in text(app)
    assert "/remind 10m" in text(app) and "/every day 8:00" in text(app)


async def test_lists_only_the_owners_tasks_in_their_zone_with_kind_and_schedule(app: App) -> None:
    await app.storage.users.upsert_seen(FRIEND_ID, "fred", "Fred")
    await app.storage.users.set_prefs(FRIEND_ID, timezone="Asia/Tokyo")  # UTC+9
    await add(app, "call mum")
    await add(app, "the three most important AI news", kind="prompt", schedule="day 8:00")
    await add(app, "someone else's secret", user=ADMIN_ID)
    await app.client(FRIEND_ID).send("/tasks")
    assert "reminders and scheduled prompts: 2" in text(app) and "Asia/Tokyo" in text(app)
    local = SOON + timedelta(hours=9)
    shown = labels(app)
    assert f"⏰ {local:%m-%d %H:%M} · call mum" in shown
    assert any(label.startswith("💬🔁") and "AI news" in label for label in shown)
    assert not any("secret" in label for label in shown)

    await press(app.client(FRIEND_ID), app, next(lb for lb in shown if "AI news" in lb))
    detail = text(app)
    assert "Scheduled prompt" in detail and "«the three most important AI news»" in detail
    assert f"Next: {local:%Y-%m-%d %H:%M} (Asia/Tokyo)" in detail
    assert "Repeats: day 8:00" in detail


async def test_a_long_list_is_paged(app: App) -> None:
    for i in range(12):
        await add(app, f"task {i:02}")
    await app.client(FRIEND_ID).send("/tasks")
    shown = labels(app)
    assert sum("· task" in label for label in shown) == 8  # one page
    assert ">" in shown  # the pager
    await press(app.client(FRIEND_ID), app, ">")
    assert [lb.split(" · ")[1] for lb in labels(app) if " · " in lb] == [
        "task 08",
        "task 09",
        "task 10",
        "task 11",
    ]


async def test_pause_resume_and_delete_with_a_confirmation(app: App) -> None:
    task = await add(app, "water the plants")
    client = app.client(FRIEND_ID)
    await client.send("/tasks")
    await press(client, app, next(lb for lb in labels(app) if "water" in lb))
    await press(client, app, "⏸ Pause")
    stored = await app.storage.tasks.get(task.id)
    assert stored is not None and stored.status == "paused"
    assert "Paused" in text(app) and "▶️ Resume" in labels(app)
    await press(client, app, "▶️ Resume")
    stored = await app.storage.tasks.get(task.id)
    assert stored is not None and stored.status == "active"
    assert stored.next_run.replace(tzinfo=UTC) == SOON  # still ahead: not moved

    await press(client, app, "🗑 Delete")
    assert "Delete this task?" in text(app)
    await press(client, app, "Cancel")
    assert await app.storage.tasks.get(task.id) is not None
    await press(client, app, "🗑 Delete")
    await press(client, app, "🗑 Delete")
    assert await app.storage.tasks.get(task.id) is None
    assert [a.text for a in app.bot.answers()][-1] == "🗑 Deleted."
    assert "no reminders or scheduled prompts" in text(app)


async def test_resuming_after_its_time_runs_it_now(app: App) -> None:
    task = await add(app, "stand up", next_run=datetime.now(UTC) - timedelta(minutes=5))
    await app.storage.tasks.set_status(FRIEND_ID, task.id, "paused")
    client = app.client(FRIEND_ID)
    await client.send("/tasks")
    await press(client, app, next(lb for lb in labels(app) if "stand up" in lb))
    await press(client, app, "▶️ Resume")
    assert "it runs now" in app.bot.answers()[-1].text
    stored = await app.storage.tasks.get(task.id)
    assert stored is not None and stored.status == "active"
    assert stored.next_run.replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=1)


async def test_a_task_gone_meanwhile_is_answered_and_nothing_else_changes(app: App) -> None:
    task = await add(app, "gone soon")
    other = await add(app, "stays")
    client = app.client(FRIEND_ID)
    await client.send("/tasks")
    await press(client, app, next(lb for lb in labels(app) if "gone soon" in lb))
    assert await app.storage.tasks.delete(FRIEND_ID, task.id)  # e.g. from another device
    await press(client, app, "⏸ Pause")
    assert app.bot.answers()[-1].text == "This task is gone: it has run out or was deleted."
    kept = await app.storage.tasks.get(other.id)
    assert kept is not None and kept.status == "active"
    assert "reminders and scheduled prompts: 1" in text(app)  # back to the list


async def test_forged_buttons_never_touch_a_task(app: App) -> None:
    mine = await add(app, "mine")
    theirs = await add(app, "theirs", user=ADMIN_ID)
    client = app.client(FRIEND_ID)
    await client.send("/tasks")
    menu = app.mm.last_message()
    for data in ("k_task:7", f"k_task:{theirs.id}", "k_task:0:extra"):
        await forged(client, menu, data)
        assert app.bot.answers()[-1].text == "This menu has expired."
    for task in (mine, theirs):
        stored = await app.storage.tasks.get(task.id)
        assert stored is not None and stored.status == "active"

    # Another user pressing the friend's menu gets their own fresh menu, never the friend's.
    admin = app.client(ADMIN_ID)
    app.mm.reset_history()
    await admin.click(menu, InlineButtonTextLocator(".*mine"))
    assert app.bot.answers()[-1].text.startswith("This menu has expired")
    assert "theirs" in " ".join(labels(app)) and "mine" not in " ".join(labels(app))
    stored = await app.storage.tasks.get(mine.id)
    assert stored is not None and stored.status == "active"


async def test_in_a_group_only_the_tasks_set_there(app: App) -> None:
    group_id = -100500
    await add(app, "private one")
    await add(app, "group one", chat=group_id)
    await add(app, "other group", chat=-100600)
    client = BotClient(app.dp, user_id=FRIEND_ID, chat_id=group_id, chat_type="group", bot=app.bot)
    await client.send("/tasks")
    shown = " ".join(labels(app))
    assert "group one" in shown and "private one" not in shown and "other group" not in shown
    assert "only the ones you set in this group" in text(app)
    await app.client(FRIEND_ID).send("/tasks")
    shown = " ".join(labels(app))
    assert all(t in shown for t in ("private one", "group one", "other group"))
