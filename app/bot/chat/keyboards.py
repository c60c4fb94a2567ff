"""The buttons on an answer: ⏹ Stop while it streams, then 🔄 Regenerate, ➡️ Continue and
🔀 Another model under the latest finished answer, and the short model picker.

Callback data names the user who asked (``owner``): a press by anyone else is refused
without a database read. Whether the pressed message is the latest answer is checked by
``app.services.chat.controls`` against storage, so forged data can't reach further."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

#: Models offered by 🔀 Another model: a short list, not a catalog browser.
PICKER_SIZE = 10


class StopCallback(CallbackData, prefix="stop"):
    owner: int
    token: str  # the running answer's token (app.services.chat.running)


class AnswerAction(StrEnum):
    REGENERATE = "r"
    CONTINUE = "c"
    MODELS = "m"  # open the picker
    PICK = "p"  # regenerate with the picked model
    BACK = "b"  # close the picker


class AnswerCallback(CallbackData, prefix="ans"):
    action: AnswerAction
    owner: int
    pick: int = -1  # index into the user's model list (PICK)
    check: str = ""  # a short hash of the picked model's name: the list may have changed


def model_check(name: str) -> str:
    return hashlib.blake2s(name.encode(), digest_size=3).hexdigest()


def stop_keyboard(owner: int, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("⏹ Stop"), callback_data=StopCallback(owner=owner, token=token).pack()
                )
            ]
        ]
    )


def _button(text: str, action: AnswerAction, owner: int, **extra: object) -> InlineKeyboardButton:
    data = AnswerCallback(action=action, owner=owner, **extra)  # type: ignore[arg-type]
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def answer_keyboard(owner: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("🔄 Regenerate"), AnswerAction.REGENERATE, owner),
                _button(_("➡️ Continue"), AnswerAction.CONTINUE, owner),
            ],
            [_button(_("🔀 Another model"), AnswerAction.MODELS, owner)],
        ]
    )


def models_keyboard(owner: int, names: list[str], current: str) -> InlineKeyboardMarkup:
    buttons = [
        _button(
            f"✅ {name}" if name == current else name,
            AnswerAction.PICK,
            owner,
            pick=index,
            check=model_check(name),
        )
        for index, name in enumerate(names[:PICKER_SIZE])
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(_("« Back"), AnswerAction.BACK, owner)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
