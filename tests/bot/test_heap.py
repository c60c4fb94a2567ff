"""app.bot.run.heap: the start-up heap is frozen once the warm-up is done, also after a failed
warm-up. (That the bot's own process does it: tests/process/test_shutdown_grace.py.)"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from app.bot.run.heap import freeze_heap_after


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process builds many apps: never leave its heap frozen


async def test_the_heap_is_frozen_only_after_the_warm_up(unfrozen: None) -> None:
    warmed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    freezing = asyncio.create_task(freeze_heap_after(warmed))
    await asyncio.sleep(0.05)
    assert not freezing.done() and gc.get_freeze_count() == 0
    warmed.set_result(None)
    await freezing
    assert gc.get_freeze_count() > 1000


async def test_a_failed_warm_up_still_freezes(unfrozen: None) -> None:
    warmed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    warmed.set_exception(RuntimeError("no litellm today"))
    await freeze_heap_after(warmed)
    assert gc.get_freeze_count() > 1000
