"""Every text is answered: texts ending in invisible characters reach the model.

aiogram-dialog encodes reply-keyboard presses as a run of these characters at the end of a
text, and used to read any such ending as a press (see app/bot/dialogs/setup.py)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import FRIEND_ID, Running

# Every character aiogram-dialog encodes with: soft hyphen, ZWNJ, ZWJ, word joiner,
# U+2061..U+2064 and U+1D173..U+1D17A. Doubled: a run of two or more was read as a press.
INVISIBLE = [
    "\u00ad", "\u200c", "\u200d", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064",
    *(chr(c) for c in range(0x1D173, 0x1D17B)),
]  # fmt: skip
MIXED = "\u200c\u200d\u2062\U0001d17a\u00ad"  # a longer, mixed run (odd length too)


@pytest.mark.parametrize(
    "ending",
    [c * 2 for c in INVISIBLE] + [MIXED, "\u200c" * 4],
    ids=[f"U+{ord(c):04X}" for c in INVISIBLE] + ["mixed run", "four ZWNJ"],
)
async def test_text_ending_in_invisible_characters_is_answered(
    running: Running, ending: str
) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    text = "سلام، خوبی" + ending  # Persian text: ZWNJ/ZWJ endings are real here
    await friend.send(text)
    reply = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    assert fake.chat_requests[-1].messages[-1]["content"] == text  # nothing stripped
    assert "went wrong" not in reply.text
    await tg.wait_quiet()
    assert all("went wrong" not in m.text for m in friend.chat.bot_messages)


async def test_persian_text_with_zwnj_mid_and_end_in_an_open_menu(running: Running) -> None:
    """An open /model menu (a dialog on the stack) does not take such a text either."""
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/model")
    await tg.wait_for_message(friend.id, lambda m: "Choose a provider" in m.text)
    text = "می\u200cخواهم\u200c\u200c"
    await friend.send(text)
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    assert fake.chat_requests[-1].messages[-1]["content"] == text
