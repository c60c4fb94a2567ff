"""Conversation titles carry no control or bidi characters: a title can't reorder or hide
the menus it is shown in (U+202E flips what follows; isolates and zero-width characters
hide text)."""

from __future__ import annotations

import unicodedata

import pytest

from app.services.chat.titles import clean_title, fallback_title
from app.services.conversations.service import ConversationService

HOSTILE = [
    "\u202etxt.exe",  # RIGHT-TO-LEFT OVERRIDE
    "a\u2066b\u2067c\u2068d\u2069e",  # the isolates
    "zero\u200bwidth\u200c\u200djoin\ufeff",  # ZWSP, ZWNJ, ZWJ, BOM
    "bell\x07 and\x1b[31m escape",
    "left\u200eright\u200fmarks\u202a\u202b\u202c\u202d",
    "soft\u00adhyphen and \u2060word joiner",
]


def _invisible(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf")]


@pytest.mark.parametrize("raw", HOSTILE)
def test_titles_from_the_first_message_strip_control_and_bidi(raw: str) -> None:
    assert _invisible(fallback_title(raw)) == []


@pytest.mark.parametrize("raw", HOSTILE)
def test_titles_from_the_model_strip_control_and_bidi(raw: str) -> None:
    assert _invisible(clean_title(raw) or "") == []


@pytest.mark.parametrize("raw", HOSTILE)
def test_renamed_titles_strip_control_and_bidi(raw: str) -> None:
    assert _invisible(ConversationService.clean_title(raw) or "") == []


def test_what_is_visible_stays() -> None:
    assert fallback_title("\u202eHello,\u200b world") == "Hello, world"
    assert clean_title("Plan\tfor\u2066 Mai") == "Plan for Mai"
    assert ConversationService.clean_title("Привет 👋 мир") == "Привет 👋 мир"
    assert ConversationService.clean_title("\u202e\u200b") is None  # nothing visible left
