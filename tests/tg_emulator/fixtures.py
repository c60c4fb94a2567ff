"""Reusable pieces for end-to-end tests: emulator fixture factory, Bot factory, polling.

Usage in a conftest::

    from tests.tg_emulator.fixtures import emulator_fixture, make_bot, run_polling
    tg = emulator_fixture()            # a function-scoped async fixture named by assignment

    async def test_x(tg):
        bot = make_bot(tg)
        async with run_polling(dp, bot, tg):
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from .server import TelegramEmulator


@contextlib.asynccontextmanager
async def running_emulator(
    *, check_errors: bool = True, **kwargs: Any
) -> AsyncIterator[TelegramEmulator]:
    """Start an emulator; on exit stop it and fail if it hit an internal error."""
    emu = TelegramEmulator(**kwargs)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
    if check_errors and emu.errors:
        raise AssertionError("Telegram emulator internal errors:\n" + "\n".join(emu.errors))


def emulator_fixture(*, name: str | None = None, check_errors: bool = True, **kwargs: Any) -> Any:
    """A function-scoped pytest-asyncio fixture yielding a started TelegramEmulator.

    Assign it in a conftest (``tg = emulator_fixture()``); ``name`` overrides the fixture
    name, ``kwargs`` go to :class:`TelegramEmulator` (token, bot_username, flood_limits...).
    With ``check_errors`` the test errors at teardown if the emulator hit an internal bug.
    """

    @pytest_asyncio.fixture(name=name)
    async def _fixture() -> AsyncIterator[TelegramEmulator]:
        async with running_emulator(check_errors=check_errors, **kwargs) as emu:
            yield emu

    return _fixture


def make_bot(emu: TelegramEmulator, **bot_kwargs: Any) -> Bot:
    """A real aiogram Bot whose HTTP session points at the emulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(emu.token, session=session, **bot_kwargs)


@contextlib.asynccontextmanager
async def run_polling(
    dp: Dispatcher,
    bot: Bot,
    emu: TelegramEmulator | None = None,
    *,
    polling_timeout: int = 1,
    drain_timeout: float = 5.0,
    **kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dp.start_polling`` as a task; stop it cleanly (handlers drained) on exit.

    With ``emu`` given, entry waits until the first getUpdates reached the emulator, so
    updates sent right after are picked up by a live long poll.
    """
    first_poll = len(emu.calls("getUpdates")) if emu else 0
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=polling_timeout, **kwargs),
        name="aiogram-polling",
    )
    try:
        if emu is not None:
            await emu.wait_until(
                lambda: len(emu.calls("getUpdates")) > first_poll or task.done(), timeout=10
            )
            if task.done():
                task.result()  # surface a start-up failure
        yield task
    finally:
        # Let in-flight handlers finish, so no task outlives the test.
        handlers = set(dp._handle_update_tasks)
        if handlers:
            await asyncio.wait(handlers, timeout=drain_timeout)
        if not task.done():
            with contextlib.suppress(RuntimeError):  # "Polling is not started" race
                await asyncio.wait_for(dp.stop_polling(), timeout=polling_timeout + 5)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for leftover in set(dp._handle_update_tasks):
            leftover.cancel()
        await bot.session.close()
