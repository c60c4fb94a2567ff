"""The aiogram `Bot` for the configured token and Bot API server."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from app.config import ConfigError, Settings, http_url_problems, token_problems


def create_bot(settings: Settings) -> Bot:
    """Raises ConfigError on a missing or malformed token or API base: both end up in every
    request URL, so an error about either would print the token."""
    problems = token_problems(settings.telegram.bot_token) + http_url_problems(
        "TELEGRAM_API_BASE", settings.telegram.api_base
    )
    if problems:
        raise ConfigError("\n".join(problems))
    assert settings.telegram.bot_token is not None  # token_problems saw it set
    session = None
    if settings.telegram.api_base:
        server = TelegramAPIServer.from_base(settings.telegram.api_base.strip())
        session = AiohttpSession(api=server)
    return Bot(
        settings.telegram.bot_token.get_secret_value().strip(),
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )
