"""The buttons a bare /usage, /reasoning or /voice answers with: one per choice, the
current one marked, so a command picked from the menu switches with one more tap."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _


class ToggleCallback(CallbackData, prefix="toggle"):
    name: str  # "usage", "reasoning" or "voice"
    value: str


def toggle_keyboard(
    name: str, choices: Sequence[tuple[str, str]], current: str
) -> InlineKeyboardMarkup:
    """``choices``: (value, label) pairs; the current value's label gets a ✓."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"✓ {label}" if value == current else label,
                    callback_data=ToggleCallback(name=name, value=value).pack(),
                )
                for value, label in choices
            ]
        ]
    )


def reasoning_buttons(current: str) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        "reasoning", [("off", _("Off")), ("on", _("On")), ("stream", _("Stream"))], current
    )


def on_off_buttons(name: str, on: bool) -> InlineKeyboardMarkup:
    return toggle_keyboard(name, [("on", _("On")), ("off", _("Off"))], "on" if on else "off")
