"""Presses on the /usage, /reasoning and /voice buttons: each switches like the command
with that argument would, then the message shows the new state. Included before the
dialogs, which would otherwise take a press in a chat with an open menu."""

from __future__ import annotations

import contextlib

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from app.bot.account.preferences import REASONING_MODES, SWITCH, set_reasoning, set_usage
from app.bot.media.commands import switch_voice
from app.bot.rendering.toggles import ToggleCallback, on_off_buttons, reasoning_buttons
from app.services.media.service import MediaService
from app.storage import Storage, UserRecord
from llmdoor import Role


def create_toggle_presses_router() -> Router:
    router = Router(name="toggle_presses")

    @router.callback_query(ToggleCallback.filter())
    async def pressed(
        query: CallbackQuery,
        callback_data: ToggleCallback,
        user_record: UserRecord,
        role: Role,
        storage: Storage,
        media: MediaService,
    ) -> None:
        name, value = callback_data.name, callback_data.value
        text: str
        markup: InlineKeyboardMarkup
        if name == "reasoning" and value in REASONING_MODES:
            text, markup = (
                await set_reasoning(storage, user_record.user_id, value),
                (reasoning_buttons(value)),
            )
        elif name in ("usage", "voice") and value in SWITCH:
            on = SWITCH[value]
            if name == "usage":
                text = await set_usage(storage, user_record.user_id, on)
            else:
                text = await switch_voice(media, role, user_record.user_id, on)
            markup = on_off_buttons(name, on)
        else:
            await query.answer()
            return
        await query.answer()
        if isinstance(query.message, Message):
            # Pressing the state already shown changes nothing: Telegram says so, fine.
            with contextlib.suppress(TelegramBadRequest):
                await query.message.edit_text(text, reply_markup=markup)

    return router
