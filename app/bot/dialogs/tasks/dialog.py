"""/tasks: your reminders and scheduled prompts, soonest first, in pages; each with its
kind, its text, its next run in your time zone and its schedule when it repeats. On one:
pause, resume, delete (after a confirmation).

In a group the list holds only your tasks set in that group (they are sent there, so the
group sees them anyway); your private ones are listed only in our private chat.

Buttons carry an index into the list the menu showed; the ids stay with the dialog, and
every change goes through TaskManager with the user's id, so a stale button (the task ran
out or was deleted meanwhile) or a forged one never touches another user's task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Chat, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Cancel, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi

from app.bot.chat.threads import is_private
from app.bot.dialogs.common import clip, paged_select
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import TasksSG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.rendering.tasks import describe
from app.bot.workflow import update_data
from app.services.schedule.manage import Resumed, TaskManager
from app.services.schedule.recurrence import from_rule
from app.services.schedule.service import zone_of
from app.storage import StorageUnavailable, UserRecord
from app.storage.models import utc_ms
from app.storage.tasks import ScheduledTask
from llmdoor import Role

# Widget ids start with "k_": the expired-menu handler maps the prefix back to this dialog.
LABEL_CHARS = 32
TEXT_CHARS = 300
WHEN = "%Y-%m-%d %H:%M"
WHEN_SHORT = "%m-%d %H:%M"


def _icons(task: ScheduledTask) -> str:
    kind = "⏰" if task.kind == "reminder" else "💬"
    return ("⏸" if task.status == "paused" else "") + kind + ("🔁" if task.schedule else "")


def _local(task: ScheduledTask, user: UserRecord) -> datetime:
    return utc_ms(task.next_run).astimezone(zone_of(user))


def _repeats(task: ScheduledTask) -> str:
    """A recurring task's schedule as the user reads it ("" for one that runs once). The
    one place that turns the stored schedule into words."""
    if not task.schedule:
        return ""
    recurrence = from_rule(task.schedule)
    return describe(recurrence) if recurrence is not None else task.schedule


def _chat_filter(chat: Chat) -> int | None:
    return None if is_private(chat) else chat.id


async def list_getter(
    dialog_manager: DialogManager,
    task_manager: TaskManager,
    user_record: UserRecord,
    event_chat: Chat,
    **_: Any,
) -> dict[str, Any]:
    tasks = await task_manager.list(user_record.user_id, _chat_filter(event_chat))
    # Buttons carry an index; the ids they stood for stay with the dialog.
    dialog_manager.dialog_data["ids"] = {str(i): t.id for i, t in enumerate(tasks)}
    items = [
        {
            "id": str(i),
            "label": f"{_icons(t)} {_local(t, user_record).strftime(WHEN_SHORT)} · "
            f"{clip(t.text, LABEL_CHARS)}",
        }
        for i, t in enumerate(tasks)
    ]
    return {
        "count": len(tasks),
        "none": not tasks,
        "zone": zone_of(user_record).key,
        "in_group": not is_private(event_chat),
        "tasks": items,
    }


async def task_getter(
    dialog_manager: DialogManager, task_manager: TaskManager, user_record: UserRecord, **_: Any
) -> dict[str, Any]:
    task_id = dialog_manager.dialog_data.get("task")
    task = await task_manager.get(user_record.user_id, task_id) if task_id else None
    if task is None:
        return {"gone": True, "here": False}
    return {
        "gone": False,
        "here": True,
        "reminder": task.kind == "reminder",
        "prompt": task.kind == "prompt",
        "text": clip(task.text, TEXT_CHARS),
        "when": _local(task, user_record).strftime(WHEN),
        "zone": zone_of(user_record).key,
        "schedule": _repeats(task),
        "paused": task.status == "paused",
        "active": task.status == "active",
        "in_group": task.chat_id != task.user_id,
    }


def _user(manager: DialogManager) -> int:
    user: User = update_data(manager)["event_from_user"]
    return user.id


def _task_id(manager: DialogManager) -> str | None:
    task_id = manager.dialog_data.get("task")
    return task_id if isinstance(task_id, str) else None


async def _gone(callback: CallbackQuery, manager: DialogManager) -> None:
    await callback.answer(_("This task is gone: it has run out or was deleted."))
    await manager.switch_to(TasksSG.list)


async def _storage_down(callback: CallbackQuery) -> None:
    await callback.answer(_("The database is unavailable; try again later."), show_alert=True)


async def on_task(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    task_id = manager.dialog_data.get("ids", {}).get(item)
    if task_id is None:  # an index this menu never showed: forged or from an old menu
        await callback.answer(_("This menu has expired."))
        return
    manager.dialog_data["task"] = task_id
    await manager.switch_to(TasksSG.task)


async def on_pause(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    task_id = _task_id(manager)
    try:
        paused = task_id is not None and await update_data(manager)["task_manager"].pause(
            _user(manager), task_id
        )
    except StorageUnavailable:
        await _storage_down(callback)
        return
    if not paused:
        await _gone(callback, manager)
        return
    await callback.answer(_("⏸ Paused: it will not run until you resume it."))


async def on_resume(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    task_id = _task_id(manager)
    try:
        result = (
            await update_data(manager)["task_manager"].resume(_user(manager), task_id)
            if task_id is not None
            else Resumed.GONE
        )
    except StorageUnavailable:
        await _storage_down(callback)
        return
    if result is Resumed.GONE:
        await _gone(callback, manager)
    elif result is Resumed.NOW:
        await callback.answer(_("▶️ Resumed. Its time passed while it was paused: it runs now."))
    else:
        await callback.answer(_("▶️ Resumed."))


async def on_delete(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    task_id = _task_id(manager)
    try:
        deleted = task_id is not None and await update_data(manager)["task_manager"].delete(
            _user(manager), task_id
        )
    except StorageUnavailable:
        await _storage_down(callback)
        return
    if not deleted:
        await _gone(callback, manager)
        return
    manager.dialog_data.pop("task", None)
    await callback.answer(_("🗑 Deleted."))
    await manager.switch_to(TasksSG.list)


def tasks_dialog() -> Dialog:
    back = SwitchTo(I18nFormat(__("‹ Back")), id="k_back", state=TasksSG.list)
    dialog = Dialog(
        Window(
            Multi(
                I18nFormat(
                    __(
                        "📋 Your reminders and scheduled prompts: {count}. Times are in {zone}. "
                        "Tap one to pause, resume or delete it."
                    ),
                    when=~F["none"],
                ),
                I18nFormat(
                    __(
                        "📋 You have no reminders or scheduled prompts. Create one with "
                        "/remind 10m call mum, or /every day 8:00 the three most important "
                        "AI news."
                    ),
                    when="none",
                ),
                I18nFormat(
                    __(
                        "Here: only the ones you set in this group. /tasks in our private "
                        "chat lists them all."
                    ),
                    when="in_group",
                ),
                sep="\n\n",
            ),
            paged_select("k_task", "tasks", on_task),
            Cancel(I18nFormat(__("Close")), id="k_close"),
            state=TasksSG.list,
            getter=list_getter,
        ),
        Window(
            Multi(
                I18nFormat(__("This task is gone: it has run out or was deleted."), when="gone"),
                I18nFormat(__("⏰ Reminder"), when="reminder"),
                I18nFormat(__("💬 Scheduled prompt"), when="prompt"),
                Format("«{text}»", when="here"),
                I18nFormat(__("Next: {when} ({zone})"), when="here"),
                I18nFormat(__("Repeats: {schedule}"), when="schedule"),
                I18nFormat(__("Set in a group chat: it is sent there."), when="in_group"),
                I18nFormat(__("⏸ Paused: it will not run until you resume it."), when="paused"),
                sep="\n",
            ),
            Button(I18nFormat(__("⏸ Pause")), id="k_pause", on_click=on_pause, when="active"),
            Button(I18nFormat(__("▶️ Resume")), id="k_resume", on_click=on_resume, when="paused"),
            SwitchTo(I18nFormat(__("🗑 Delete")), id="k_del", state=TasksSG.delete, when="here"),
            back,
            state=TasksSG.task,
            getter=task_getter,
        ),
        Window(
            Multi(
                I18nFormat(__("Delete this task? This cannot be undone."), when="here"),
                Format("«{text}»", when="here"),
                I18nFormat(__("This task is gone: it has run out or was deleted."), when="gone"),
                sep="\n",
            ),
            Button(I18nFormat(__("🗑 Delete")), id="k_del_yes", on_click=on_delete, when="here"),
            SwitchTo(I18nFormat(__("Cancel")), id="k_del_no", state=TasksSG.task),
            state=TasksSG.delete,
            getter=task_getter,
        ),
    )
    dialog.message.filter(InputWindow())  # no typed input: chat messages fall through
    return dialog


async def cmd_tasks(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(TasksSG.list, mode=StartMode.RESET_STACK)


def create_tasks_router() -> Router:
    router = Router(name="tasks-dialog")
    router.message.register(cmd_tasks, Command("tasks"), RoleIs(Role.ADMIN, Role.FRIEND))
    router.include_router(tasks_dialog())
    return router


__all__ = ["create_tasks_router", "tasks_dialog"]
