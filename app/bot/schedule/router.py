"""/remind and /timezone. Thin: ScheduleService reads the time and stores the reminder."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import get_i18n

from app.bot.chat.threads import thread_of
from app.bot.schedule import texts
from app.services.schedule.service import Reminded, ScheduleService, zone_of
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
        elif result.local_time is not None:
            zone = zone_of(user_record).key
            await message.reply(texts.reminder_set(result.local_time, zone, result.zone_set))

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
