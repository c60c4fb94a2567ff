"""Keeps secrets out of logs: a handler filter that masks the bot token wherever it shows up
(aiohttp errors print Bot API file URLs, which contain it) and any other configured secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Bot API URLs carry the token as /bot<id>:<secret>/ (methods) or /file/bot<id>:<secret>/.
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]{20,}")
_BARE_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
MASK = "***"


class RedactSecretsFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        # Short values would mask ordinary words; real keys and tokens are long.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _TOKEN_IN_URL.sub("bot" + MASK, text)
        return _BARE_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def install(secrets: Iterable[str | None] = ()) -> RedactSecretsFilter:
    """Attach the filter to every handler of the root logger (handler filters also see
    records from child loggers, logger filters would not)."""
    redactor = RedactSecretsFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
