"""No update waits for a worker thread on its way to a handler.

aiogram runs synchronous filters and handlers in threads (``asyncio.to_thread``); under
load every such check queued behind the default executor. The bot's filters are
asynchronous (``app.bot.filters.OnLoop`` for magic filters), checked here over the whole
router tree of the real app and on the path of real messages."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Router
from aiogram.fsm.state import any_state

from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, Running


def threaded_checks(router: Router) -> list[str]:
    found = []
    for name, observer in router.observers.items():
        for handler in observer.handlers:
            if not handler.awaitable:
                found.append(f"{router.name}.{name}: handler {handler.callback!r}")
            for check in handler.filters or []:
                # aiogram-dialog's own handler of background dialog updates (BgManager),
                # never on the path of a user's update.
                if not check.awaitable and check.callback is not any_state:
                    found.append(f"{router.name}.{name}: filter {check.magic or check.callback!r}")
    for sub in router.sub_routers:
        found += threaded_checks(sub)
    return found


async def test_no_filter_or_handler_of_the_app_runs_in_a_thread(running: Running) -> None:
    assert threaded_checks(running.app.dispatcher) == []


@pytest.fixture
def thread_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hops: list[str] = []
    to_thread = asyncio.to_thread

    async def recording(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(func, functools.partial):  # how aiogram's CallableObject calls
            hops.append(repr(func.func))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", recording)
    return hops


async def test_messages_and_commands_reach_their_handlers_without_a_thread(
    running: Running, thread_hops: list[str]
) -> None:
    tg = running.tg
    friend, admin = tg.user(FRIEND_ID, "Fred"), tg.user(ADMIN_ID, "Ada")
    await friend.send("hello")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: hello")
    await friend.send("/nosuchcommand")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("I don't know this command"))
    await admin.send("/stats")
    await tg.wait_for_message(ADMIN_ID, lambda m: "📊" in m.text or "Usage" in m.text)
    await tg.wait_quiet()
    assert thread_hops == []
