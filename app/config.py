"""All configuration, read from the environment (and `.env`). One model per concern,
each with its own env prefix, composed into `Settings`. Secrets are `SecretStr` so they
never show up in reprs or logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.llm.access import AccessSettings
from app.llm.settings import LLMSettings


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class TelegramSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    api_base: str | None = None  # a self-hosted or local Bot API server
    mode: Literal["polling", "webhook"] = "polling"


class WebhookSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOK_", env_file=".env", extra="ignore")

    url: str | None = None  # public base URL Telegram posts to, e.g. https://bot.example.com
    path: str = "/telegram/webhook"
    secret: SecretStr | None = None
    host: str = "0.0.0.0"
    port: int = 8080


class StorageSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="MONGODB_", env_file=".env", extra="ignore")

    uri: SecretStr | None = None
    db: str = "tg_llm_bot"


class BotSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", env_file=".env", extra="ignore")

    default_locale: str = "en"
    request_cooldown_seconds: int = 3600  # between two access requests of one user
    max_input_chars: int = 16_000  # longer texts are refused with a clear message
    draft_interval: float = 0.4
    edit_interval: float = 1.2
    global_rate_per_second: float = 25.0  # stay under Telegram's ~30 msg/s bot limit
    # A stranger who keeps writing gets one refusal per this many seconds; the rest are
    # dropped without a Telegram call.
    stranger_refusal_cooldown_seconds: float = Field(default=600.0, ge=0)
    # Open access requests at most; past that strangers are told to try later and the
    # admins get no new card.
    max_pending_requests: int = Field(default=50, ge=1)


class Settings(_EnvSettings):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    bot: BotSettings = Field(default_factory=BotSettings)


def load_settings() -> Settings:
    return Settings()
