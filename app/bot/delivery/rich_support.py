"""Whether answers go out as Bot API 10.x rich messages, decided once per process.

``TELEGRAM_RICH_MESSAGES=auto`` (the default) tries them; ``off`` never does. A Bot API
server that lacks the rich methods (a self-hosted ``telegram-bot-api`` older than 10.1)
answers them "Not Found": the first such answer switches rich messages off for the rest of
the process, logged once, and every answer goes out the way it did before (drafts,
entities, 4 096-character parts). A rich message Telegram *rejects* (a 400) says nothing
about the server: that one answer is resent the old way and the next tries rich again."""

from __future__ import annotations

import logging
from typing import Literal

from aiogram.exceptions import TelegramAPIError, TelegramNotFound

log = logging.getLogger(__name__)

RichMode = Literal["auto", "off"]


class RichMessages:
    def __init__(self, mode: RichMode = "auto") -> None:
        self.mode = mode
        self._missing = False

    @property
    def available(self) -> bool:
        return self.mode == "auto" and not self._missing

    def server_lacks_them(self, exc: TelegramAPIError) -> bool:
        """Whether ``exc`` says the server has no rich methods; if so, they are off from now
        on (and the log says so, once)."""
        if not is_missing_method(exc):
            return False
        if not self._missing:
            self._missing = True
            log.warning(
                "the Bot API server has no rich messages (%s): answers use plain drafts, "
                "entities and 4096-character parts from now on",
                exc.message,
            )
        return True


def is_missing_method(exc: TelegramAPIError) -> bool:
    # An HTTP 404 for the method itself; "message to edit not found" is a 400, not this.
    return isinstance(exc, TelegramNotFound)


OFF = RichMessages("off")

__all__ = ["OFF", "RichMessages", "RichMode", "is_missing_method"]
