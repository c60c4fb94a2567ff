"""The buttons of memory: /forgetme's confirmation and the undo under a fact the model
kept."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _


class ForgetMeCallback(CallbackData, prefix="forgetme"):
    owner: int
    yes: bool


class UndoFactCallback(CallbackData, prefix="unfact"):
    owner: int
    fact: str  # the fact's id (24 or 32 characters: fits Telegram's 64 bytes)


def forgetme_keyboard(owner: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Erase everything"),
                    callback_data=ForgetMeCallback(owner=owner, yes=True).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Cancel"), callback_data=ForgetMeCallback(owner=owner, yes=False).pack()
                ),
            ]
        ]
    )


def undo_keyboard(owner: int, fact_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("↩️ Undo"),
                    callback_data=UndoFactCallback(owner=owner, fact=fact_id).pack(),
                )
            ]
        ]
    )
