"""Keeps secrets out of logs and error lines: a handler filter that masks the bot token
wherever it shows up (aiohttp errors print Bot API URLs, which contain it), passwords in
URLs, and every configured secret."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, unquote_plus

# Bot API URLs carry the token as /bot<id>:<secret>/ (methods) or /file/bot<id>:<secret>/.
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]{8,}")
_BARE_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
# scheme://user:password@host -> the password part, up to the last "@" (an unescaped "@"
# or "/" in a password must not leave a tail of it visible).
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@]*:)\S+(?=@)", re.I)
# Variables whose whole value is a secret (provider keys litellm reads, tokens, passwords).
_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_KEY")
MASK = "***"


def url_secrets(value: str) -> list[str]:
    """The password of ``scheme://user:password@host/...`` (as written and decoded) and
    any ``...password=`` query option: what a connection string may hide."""
    scheme_end = value.find("://")
    if scheme_end < 0:
        return []
    rest, _, query = value[scheme_end + 3 :].partition("?")
    found: list[str] = []
    if "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        password = userinfo.partition(":")[2]
        found += [password, unquote_plus(password)]
    found += [v for k, v in parse_qsl(query) if "password" in k.lower() or "secret" in k.lower()]
    return [s for s in found if s]


def secrets_in_environment(env: Mapping[str, str]) -> list[str]:
    """Every secret the process can know before its settings are even parsed."""
    found: list[str] = []
    for name, value in env.items():
        if name.upper().endswith(_SECRET_SUFFIXES):
            found += [value, value.strip()]
        found += url_secrets(value)
    return found


class RedactSecretsFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        # Short values would mask ordinary words; real keys and tokens are long.
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= 8}
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _TOKEN_IN_URL.sub("bot" + MASK, text)
        text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
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
