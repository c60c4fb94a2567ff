"""/reasoning off|on|stream, /usage on|off and /me: each user's own switches and costs."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from app.bot.account.rich_reply import reply_rich
from app.bot.delivery.rich_support import RichMessages
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


def create_preferences_router() -> Router:
    router = Router(name="preferences")

    @router.message(Command("reasoning"))
    async def reasoning(
        message: Message, command: CommandObject, user_record: UserRecord, storage: Storage
    ) -> None:
        arg = (command.args or "").strip().lower()
        if not arg:
            await message.answer(
                _("Reasoning display: {mode}.\nSwitch with /reasoning off, on or stream.").format(
                    mode=reasoning_label(user_record.prefs.reasoning)
                )
            )
            return
        if arg not in REASONING_MODES:
            await message.answer(_("Use /reasoning off, /reasoning on or /reasoning stream."))
            return
        try:
            await storage.users.set_prefs(user_record.user_id, reasoning=arg)
        except StorageUnavailable:
            await message.answer(_("⚠️ The database is unavailable right now. Try again later."))
            return
        await message.answer(_("Reasoning display: {mode}.").format(mode=reasoning_label(arg)))

    @router.message(Command("usage"))
    async def usage(
        message: Message, command: CommandObject, user_record: UserRecord, storage: Storage
    ) -> None:
        arg = (command.args or "").strip().lower()
        if arg not in SWITCH:
            state = _("on") if user_record.prefs.usage_footer else _("off")
            await message.answer(
                _("The cost footer under answers is {state}. Use /usage on or /usage off.").format(
                    state=state
                )
            )
            return
        try:
            await storage.users.set_prefs(user_record.user_id, usage_footer=SWITCH[arg])
        except StorageUnavailable:
            await message.answer(_("⚠️ The database is unavailable right now. Try again later."))
            return
        if SWITCH[arg]:
            await message.answer(
                _("📊 Each answer now ends with its model, tokens, cost and timing.")
            )
        else:
            await message.answer(_("The cost footer is off."))

    @router.message(Command("me"))
    async def me(
        message: Message, caller: Caller, spend: SpendService, rich_messages: RichMessages
    ) -> None:
        try:
            summary = await spend.summary(caller)
        except StorageUnavailable:
            await message.answer(_("⚠️ The database is unavailable right now. Try again later."))
            return
        await reply_rich(
            message, me_markdown(summary), fallback=me_text(summary), rich=rich_messages
        )

    return router
