"""The usage example from tests/tg_emulator/__init__.py, kept runnable."""

from __future__ import annotations

from aiogram import Bot, Dispatcher, F
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from tests.tg_emulator import TelegramEmulator
from tests.tg_emulator.fixtures import make_bot, run_polling


def build_dispatcher() -> Dispatcher:
    """A stand-in for the app: draft, then the final answer with a Regenerate button."""
    dp = Dispatcher()

    @dp.message(F.text)
    async def answer(message: Message, bot: Bot) -> None:
        await bot.send_message_draft(chat_id=message.chat.id, draft_id=1, text="Explain…")
        kb = InlineKeyboardBuilder().button(text="Regenerate", callback_data="regen")
        await message.answer(
            "<b>b</b> tags make text bold", parse_mode="HTML", reply_markup=kb.as_markup()
        )

    @dp.callback_query(F.data == "regen")
    async def regenerate(query: CallbackQuery) -> None:
        await query.answer()
        assert query.message is not None
        await query.message.answer("again")  # the emulator serves 429 here

    return dp


async def test_chat_flow(emu: TelegramEmulator) -> None:
    tg = emu
    bot = make_bot(tg)
    alice = tg.user(111, "Alice", username="alice", language_code="ru")
    async with run_polling(build_dispatcher(), bot, tg):  # real long polling
        mark = tg.mark()
        await alice.send("Explain <b> tags")  # queues a message update
        reply = await tg.wait_for_message(alice.id, lambda m: "tags" in m.text)
        assert ("bold", "b") in reply.entity_texts()  # what the user sees
        assert len(tg.calls("editMessageText", since=mark)) <= 5
        tg.fail_next("sendMessage", code=429, retry_after=1)
        answer = await alice.press(reply, "Regenerate")  # waits for answerCallbackQuery
        assert answer is not None and answer.text is None
        await tg.wait_until(lambda: tg.calls("sendMessage", ok=False))
    assert tg.calls("sendMessage", ok=False)[0].status == 429
    assert [d.text for d in tg.drafts(alice.id)] == ["Explain…"]
