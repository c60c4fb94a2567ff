"""/reasoning off|on|stream, /usage on|off and /me: each user's own switches and costs.
Bare /reasoning and /usage answer with buttons to switch."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from app.bot.account.rich_reply import reply_rich
from app.bot.delivery.rich_support import RichMessages
from app.bot.rendering.toggles import on_off_buttons, reasoning_buttons
from app.bot.rendering.usage_texts import me_markdown, me_text
from app.services.spend import SpendService
from app.storage import Storage, UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Caller

REASONING_MODES = ("off", "on", "stream")
SWITCH = {"on": True, "off": False}


def reasoning_label(mode: str) -> str:
    return {
        "off": _("off: reasoning is never shown"),
        "on": _("on: collapsed above the final answer"),
        "stream": _("stream: shown live while the model thinks, then collapsed"),
    }[mode]


def db_down() -> str:
    return _("⚠️ The database is unavailable right now. Try again later.")


async def set_reasoning(storage: Storage, user_id: int, mode: str) -> str:
    try:
        await storage.users.set_prefs(user_id, reasoning=mode)
    except StorageUnavailable:
        return db_down()
    return _("Reasoning display: {mode}.").format(mode=reasoning_label(mode))


async def set_usage(storage: Storage, user_id: int, on: bool) -> str:
    try:
        await storage.users.set_prefs(user_id, usage_footer=on)
    except StorageUnavailable:
        return db_down()
    if on:
        return _("📊 Each answer now ends with its model, tokens, cost and timing.")
    return _("The cost footer is off.")


def create_preferences_router() -> Router:
    router = Router(name="preferences")

    @router.message(Command("reasoning"))
    async def reasoning(
        message: Message, command: CommandObject, user_record: UserRecord, storage: Storage
    ) -> None:
        arg = (command.args or "").strip().lower()
        if arg and arg not in REASONING_MODES:
            await message.answer(_("Use /reasoning off, /reasoning on or /reasoning stream."))
            return
        if not arg:
            current = user_record.prefs.reasoning
            await message.answer(
                _("Reasoning display: {mode}.").format(mode=reasoning_label(current)),
                reply_markup=reasoning_buttons(current),
            )
            return
        await message.answer(await set_reasoning(storage, user_record.user_id, arg))

    @router.message(Command("usage"))
    async def usage(
        message: Message, command: CommandObject, user_record: UserRecord, storage: Storage
    ) -> None:
        arg = (command.args or "").strip().lower()
        if arg not in SWITCH:
            on = user_record.prefs.usage_footer
            state = _("on") if on else _("off")
            await message.answer(
                _("The cost footer under answers is {state}.").format(state=state),
                reply_markup=on_off_buttons("usage", on),
            )
            return
        await message.answer(await set_usage(storage, user_record.user_id, SWITCH[arg]))

    @router.message(Command("me"))
    async def me(
        message: Message, caller: Caller, spend: SpendService, rich_messages: RichMessages
    ) -> None:
        try:
            summary = await spend.summary(caller)
        except StorageUnavailable:
            await message.answer(db_down())
            return
        await reply_rich(
            message, me_markdown(summary), fallback=me_text(summary), rich=rich_messages
        )

    return router
