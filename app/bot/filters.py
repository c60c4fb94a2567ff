"""Magic filters (``F.text``, ``F.chat.type == ...``) checked on the event loop.

aiogram (3.31) runs every synchronous filter in a worker thread with ``asyncio.to_thread``,
``F`` expressions included. A text message passed three of them on its way to the chat
handler; when 200 arrive at once that is 600 hand-overs to the default executor's few
threads and back, and no answer started until every message had taken its turns (the
first model request went out 0.3 s after the messages arrived). A magic filter is a few
attribute reads: :class:`OnLoop` resolves it inline, with the same result aiogram uses.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class OnLoop(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        # What aiogram's own FilterObject returns: a falsy value rejects, a dict (``.as_``)
        # adds to the handler's data.
        return self.magic.resolve(event)


__all__ = ["OnLoop"]
