"""The emulated Bot API methods: one handler per method, grouped by area, in one table.

Each area module lists its handlers in ``HANDLERS``; :func:`default_table` joins them.
A handler is ``async def handler(state: EmulatorState, req: Request) -> result`` and raises
``wire.ApiError`` with Telegram's wording. Real Bot API methods missing from the table are
accepted generically when they return ``True`` (see ``executor``).
"""

from . import callbacks, chat_info, drafts, inline, messages, rich, updates
from .table import Handler, MethodTable, Request


def default_table() -> MethodTable:
    """A fresh table of every emulated method (per emulator, so a test may replace one)."""
    return MethodTable(
        updates.HANDLERS,
        chat_info.HANDLERS,
        messages.HANDLERS,
        drafts.HANDLERS,
        rich.HANDLERS,
        callbacks.HANDLERS,
        inline.HANDLERS,
    )


__all__ = ["Handler", "MethodTable", "Request", "default_table"]
