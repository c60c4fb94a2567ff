"""Let go of aiogram-dialog's per-chat lock in handlers that run for a long time.

aiogram-dialog loads the default dialog stack of every message and callback under a lock
per (user, chat) and holds it until the handler returns. A streamed answer runs for
seconds to minutes; under that lock /stop, ⏹ Stop and every other update of the user in
that chat would wait until the answer is done. Answers use no dialog state, so the lock is
released (and the untouched stack is not saved back) before they start; ChatService keeps
answers of one conversation in order with a lock of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject
from aiogram_dialog.api.internal import CONTEXT_KEY, STACK_KEY, STORAGE_KEY
from aiogram_dialog.context.storage import StorageProxy


async def release_dialog_lock(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    proxy: StorageProxy | None = data.pop(STORAGE_KEY, None)
    if proxy is not None:
        data.pop(STACK_KEY, None)
        data.pop(CONTEXT_KEY, None)
        await proxy.unlock()  # idempotent: aiogram-dialog's own unlock later is a no-op
    return await handler(event, data)
