"""The guard in front of aiogram-dialog's reply-keyboard decoding (app/bot/dialogs/setup.py)."""

from __future__ import annotations

import pytest
from aiogram_dialog.utils import CB_SEP, REPLY_CALLBACK_SYMBOLS, join_reply_callback

from app.bot.dialogs.setup import is_reply_keyboard_press


def test_a_real_dialog_button_press_is_recognised() -> None:
    assert is_reply_keyboard_press(join_reply_callback("Back", f"aB3xYz{CB_SEP}m_back"))


@pytest.mark.parametrize("symbol", list(REPLY_CALLBACK_SYMBOLS))
@pytest.mark.parametrize("count", [1, 2, 3, 4, 6])
def test_texts_ending_in_invisible_characters_are_texts(symbol: str, count: int) -> None:
    assert not is_reply_keyboard_press("text" + symbol * count)


def test_button_data_without_an_intent_id_is_not_a_press() -> None:
    assert not is_reply_keyboard_press(join_reply_callback("x", "lang:ru"))
    assert not is_reply_keyboard_press("")
    assert not is_reply_keyboard_press(None)
