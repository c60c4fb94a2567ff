"""/remember, /forgetme (with a confirmation), and the undo button under a fact the model
kept. Thin: MemoryService and erase_user_data do the work."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from app.bot.memory import texts
from app.bot.memory.keyboards import ForgetMeCallback, UndoFactCallback, forgetme_keyboard
from app.services.memory.erase import erase_user_data
from app.services.memory.service import MemoryService
from app.storage import Storage, UserRecord
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


def create_memory_router() -> Router:
    router = Router(name="memory")

    @router.message(Command("remember"))
    async def remember(
        message: Message, command: CommandObject, user_record: UserRecord, memory: MemoryService
    ) -> None:
        if not (command.args or "").strip():
            await message.reply(texts.remember_usage())
            return
        try:
            result = await memory.remember(user_record.user_id, command.args or "")
        except StorageUnavailable:
            await message.reply(texts.storage_down())
            return
        await message.reply(texts.remembered(result, memory.settings.max_facts))

    @router.message(Command("forgetme"))
    async def forgetme(message: Message, user_record: UserRecord) -> None:
        await message.reply(
            texts.forgetme_question(), reply_markup=forgetme_keyboard(user_record.user_id)
        )

    @router.callback_query(ForgetMeCallback.filter())
    async def forgetme_answer(
        query: CallbackQuery,
        callback_data: ForgetMeCallback,
        user_record: UserRecord,
        storage: Storage,
    ) -> None:
        if callback_data.owner != user_record.user_id or not isinstance(query.message, Message):
            await query.answer(_("These buttons belong to the person who asked."))
            return
        if not callback_data.yes:
            await query.answer()
            await query.message.edit_text(texts.forgetme_kept())
            return
        try:
            erased = await erase_user_data(storage, user_record.user_id)
        except StorageUnavailable:
            await query.answer(texts.storage_down(), show_alert=True)
            return
        log.info("memory: user %s erased their data", user_record.user_id)
        await query.answer()
        await query.message.edit_text(
            texts.forgetme_done(erased.facts, erased.conversations, erased.personas)
        )

    @router.callback_query(UndoFactCallback.filter())
    async def undo_fact(
        query: CallbackQuery,
        callback_data: UndoFactCallback,
        user_record: UserRecord,
        memory: MemoryService,
    ) -> None:
        if callback_data.owner != user_record.user_id or not isinstance(query.message, Message):
            await query.answer(_("These buttons belong to the person who asked."))
            return
        try:
            await memory.forget(user_record.user_id, callback_data.fact)
        except StorageUnavailable:
            await query.answer(texts.storage_down(), show_alert=True)
            return
        await query.answer(texts.undone())
        await query.message.edit_text(texts.undone())

    return router
