"""/remind, /every, /timezone, and the ❌ Cancel button under a task just set. Thin:
ScheduleService reads the times and stores the tasks."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n

from app.bot.chat.threads import thread_of
from app.bot.rendering.tasks import CancelTaskCallback, cancel_keyboard
from app.bot.schedule import texts
from app.services.schedule.service import (
    MAX_PROMPT_CHARS,
    Reminded,
    Scheduled,
    ScheduleService,
    zone_of,
)
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable


def create_schedule_router() -> Router:
    router = Router(name="schedule")

    @router.message(Command("remind"))
    async def remind(
        message: Message,
        command: CommandObject,
        user_record: UserRecord,
        schedule: ScheduleService,
    ) -> None:
        if not (command.args or "").strip():
            await message.reply(texts.remind_usage())
            return
        try:
            result = await schedule.remind(
                user_record,
                message.chat.id,
                thread_of(message),
                command.args or "",
                locale=get_i18n().current_locale,
            )
        except StorageUnavailable:
            await message.reply(texts.storage_down())
            return
        if result.status is Reminded.NO_TIME:
            await message.reply(texts.remind_usage())
        elif result.status is Reminded.EMPTY:
            await message.reply(texts.reminder_empty())
        elif result.status is Reminded.TOO_MANY:
            await message.reply(texts.too_many(schedule.settings.max_per_user))
        elif result.local_time is not None and result.task is not None:
            zone = zone_of(user_record).key
            await message.reply(
                texts.reminder_set(result.local_time, zone, result.zone_set),
                reply_markup=cancel_keyboard(user_record.user_id, result.task.id),
            )

    @router.message(Command("every"))
    async def every(
        message: Message,
        command: CommandObject,
        user_record: UserRecord,
        schedule: ScheduleService,
    ) -> None:
        if not (command.args or "").strip():
            await message.reply(texts.every_usage())
            return
        try:
            result = await schedule.every(
                user_record,
                message.chat.id,
                thread_of(message),
                command.args or "",
                locale=get_i18n().current_locale,
            )
        except StorageUnavailable:
            await message.reply(texts.storage_down())
            return
        if result.status is Scheduled.SET and result.task and result.recurrence:
            assert result.local_time is not None
            text = texts.schedule_set(
                result.recurrence,
                result.local_time,
                zone_of(user_record).key,
                result.zone_set,
                result.task.text,
            )
            markup = cancel_keyboard(user_record.user_id, result.task.id)
            await message.reply(text, reply_markup=markup)
        else:
            await message.reply(_refusal(result.status, schedule))

    @router.callback_query(CancelTaskCallback.filter())
    async def cancel(
        query: CallbackQuery,
        callback_data: CancelTaskCallback,
        user_record: UserRecord,
        schedule: ScheduleService,
    ) -> None:
        if callback_data.owner != user_record.user_id:
            await query.answer(texts.cancel_not_yours(), show_alert=True)
            return
        try:
            gone = await schedule.cancel(user_record.user_id, callback_data.task)
        except StorageUnavailable:
            await query.answer(texts.storage_down(), show_alert=True)
            return
        if not gone:
            await query.answer(texts.cancel_gone(), show_alert=True)
            return
        await query.answer(texts.cancelled())
        if isinstance(query.message, Message):
            await query.message.edit_text(texts.cancelled())

    @router.message(Command("timezone"))
    async def timezone(
        message: Message,
        command: CommandObject,
        user_record: UserRecord,
        schedule: ScheduleService,
    ) -> None:
        name = (command.args or "").strip()
        if not name:
            await message.reply(texts.timezone_usage(zone_of(user_record).key))
            return
        try:
            zone = await schedule.set_timezone(user_record.user_id, name)
        except StorageUnavailable:
            await message.reply(texts.storage_down())
            return
        if zone is None:
            await message.reply(texts.timezone_unknown(name[:64]))
            return
        await message.reply(texts.timezone_set(zone.key, datetime.now(UTC).astimezone(zone)))

    return router


def _refusal(status: Scheduled, schedule: ScheduleService) -> str:
    settings = schedule.settings
    if status is Scheduled.EMPTY:
        return texts.prompt_empty()
    if status is Scheduled.TOO_LONG:
        return texts.prompt_too_long(MAX_PROMPT_CHARS)
    if status is Scheduled.TOO_MANY:
        return texts.tasks_too_many(settings.max_per_user)
    if status is Scheduled.TOO_OFTEN:
        return texts.too_often(settings.min_interval_minutes)
    return texts.every_usage()
