"""Fixtures for the emulator's own tests: emulator, real aiogram Bot, tiny echo bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from tests.tg_emulator import TelegramEmulator
from tests.tg_emulator.fixtures import emulator_fixture, make_bot, run_polling

emu = emulator_fixture()


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


def echo_router() -> Router:
    router = Router(name="echo")

    @router.message(Command("draft"))
    async def draft(message: Message, bot: Bot) -> None:
        try:
            await bot.send_message_draft(chat_id=message.chat.id, draft_id=7, text="thinking…")
            await message.answer("draft ok")
        except Exception as exc:  # the test asserts on the fallback text
            await message.answer(f"draft failed: {type(exc).__name__}")

    @router.message(Command("file"))
    async def send_file(message: Message) -> None:
        await message.answer_document(
            BufferedInputFile(b"report body", filename="report.txt"),
            caption="<b>report</b>",
            parse_mode="HTML",
        )

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        assert message.photo
        data = await bot.download(message.photo[-1])
        assert data is not None
        await message.answer(f"photo {len(data.read())} bytes")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        kb = InlineKeyboardBuilder()
        kb.button(text="Edit", callback_data="edit")
        kb.button(text="Docs", url="https://example.org")
        await message.answer(f"echo: {message.text}", reply_markup=kb.as_markup())

    @router.callback_query(F.data == "edit")
    async def on_edit(query: CallbackQuery) -> None:
        await query.answer("edited!")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"edited: {query.message.text}")

    return router


@pytest.fixture
def dp() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(echo_router())
    return dispatcher


@pytest_asyncio.fixture
async def echo_bot(emu: TelegramEmulator, dp: Dispatcher) -> AsyncIterator[Bot]:
    """The echo bot, polling the emulator for the duration of the test."""
    bot = make_bot(emu)
    async with run_polling(dp, bot, emu):
        yield bot
