"""All configuration, read from the environment (and `.env`). One model per concern,
each with its own env prefix, composed into `Settings`. Secrets are `SecretStr` so they
never show up in reprs or logs.

`load_settings` turns every problem into `ConfigError` lines that name the variable and
never repeat its value: a value may be a secret, or hold one (a token pasted into a URL)."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.services.conversations.settings import ConversationSettings
from app.services.groups.settings import GroupSettings
from app.services.media.limits import MediaLimits
from app.services.memory.settings import MemorySettings
from app.services.schedule.settings import ScheduleSettings
from llmdoor import AccessSettings, LLMSettings, MediaSettings, ToolSettings, tool_settings_problems


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class TelegramSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    api_base: str | None = None  # a self-hosted or local Bot API server
    mode: Literal["polling", "webhook"] = "polling"
    # Answers as Bot API 10.x rich messages (tables, formulas, native Stop): "auto" uses them
    # where the server has them, "off" never does.
    rich_messages: Literal["auto", "off"] = "auto"


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
    # Used only when MONGODB_URI names no database (mongodb://host/NAME wins); then
    # tg_llm_bot. The database in use is logged at start-up.
    db: str | None = None
    # After this long a storage call makes the circuit breaker probe the database: a
    # database that does not answer opens it (storage calls are then skipped until a probe
    # sees it back); one that answers is slow, not down, and the call goes on.
    timeout_ms: int = Field(default=600, ge=50)
    # How long one storage call may take on a database that is alive but busy.
    operation_timeout_ms: int = Field(default=10_000, ge=100)
    probe_interval: float = Field(default=2.0, gt=0)  # seconds between those probes
    # Keep raw usage records this many days (a TTL index); empty: forever. The daily
    # rollups /stats reads are kept forever either way.
    usage_retention_days: int | None = Field(default=None, ge=1)

    @field_validator("usage_retention_days", mode="before")
    @classmethod
    def _empty_is_forever(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class BotSettings(_EnvSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", env_file=".env", extra="ignore")

    default_locale: str = "en"
    request_cooldown_seconds: int = 3600  # between two access requests of one user
    max_input_chars: int = 16_000  # longer texts are refused with a clear message
    # Pieces meant as one question (a paste Telegram split, an album, forwards and the
    # comment on them) are answered this long after the last one; 0 answers each alone.
    merge_window_ms: int = Field(default=1000, ge=0, le=10_000)
    # Pieces kept in one turn (an album has at most 10); the rest are counted and left out.
    merge_max_pieces: int = Field(default=12, ge=1, le=100)
    draft_interval: float = 0.4
    edit_interval: float = 1.2
    global_rate_per_second: float = 25.0  # stay under Telegram's ~30 msg/s bot limit
    # A stranger who keeps writing gets one refusal per this many seconds; the rest are
    # dropped without a Telegram call.
    stranger_refusal_cooldown_seconds: float = Field(default=600.0, ge=0)
    # Open access requests at most; past that strangers are told to try later and the
    # admins get no new card.
    max_pending_requests: int = Field(default=50, ge=1)
    # How long a stopping bot lets answers in progress finish; keep it below the container's
    # stop timeout (docker-compose.yml's stop_grace_period).
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)
    # Conversations the in-memory store keeps (no MONGODB_URI); the least recently used
    # are forgotten beyond it.
    memory_max_conversations: int = Field(default=10_000, ge=1)
    # The event loop is "busy" when it needs longer than this to reach a new callback;
    # then previews after an answer's first sign of life are skipped, new model streams
    # wait their turn and conversation titles wait for a quiet moment.
    busy_lag_ms: float = Field(default=50.0, gt=0)
    # This many answers always stream at once, busy or not.
    min_parallel_answers: int = Field(default=8, ge=1)


class Settings(_EnvSettings):
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    bot: BotSettings = Field(default_factory=BotSettings)
    conversations: ConversationSettings = Field(default_factory=ConversationSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    groups: GroupSettings = Field(default_factory=GroupSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    media_limits: MediaLimits = Field(default_factory=MediaLimits)


def load_settings() -> Settings:
    """Settings from the environment, checked; raises ConfigError with one line per problem."""
    parts: dict[str, Any] = {}
    problems: list[str] = []
    # Each part reads its own env prefix; building them one by one reports every bad
    # variable at once, not only the first part's.
    for name, field in Settings.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            try:
                parts[name] = kind()
            except ValidationError as exc:
                problems += validation_problems(exc, kind)
    if problems:
        raise ConfigError("\n".join(problems))
    try:
        settings = Settings(**parts)
    except ValidationError as exc:
        raise ConfigError("\n".join(validation_problems(exc, Settings))) from None
    problems = settings_problems(settings)
    if problems:
        raise ConfigError("\n".join(problems))
    return settings


def env_name(model: type[BaseModel], field: str) -> str:
    """The environment variable that sets ``field`` of ``model``."""
    alias = model.model_fields[field].validation_alias if field in model.model_fields else None
    if isinstance(alias, str):
        return alias.upper()
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0].upper()
    if isinstance(alias, AliasPath):
        return str(alias.path[0]).upper()
    return (str(model.model_config.get("env_prefix", "")) + field).upper()


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    # include_input=False: pydantic would otherwise quote the value, which may be a secret.
    return [
        f"{env_name(model, str(err['loc'][0])) if err['loc'] else model.__name__}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]


# ------------------------------------------------------------------ the checks

# <bot id>:<secret>; @BotFather's secrets are 35 characters, test servers use shorter ones,
# below 8 it is a truncated paste (and too short to mask safely in logs).
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{8,}")
# Telegram's rule for setWebhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def settings_problems(settings: Settings) -> list[str]:
    """Every problem of a complete set of settings, one line each, no values quoted."""
    problems = [
        *token_problems(settings.telegram.bot_token),
        *http_url_problems("TELEGRAM_API_BASE", settings.telegram.api_base),
        *mongodb_uri_problems(settings.storage.uri),
        *tool_settings_problems(settings.tools),
    ]
    if settings.telegram.mode == "webhook":
        problems += webhook_secret_problems(settings.webhook.secret)
        problems += webhook_url_problems(settings.webhook.url)
        if not settings.webhook.path.startswith("/"):
            problems.append("WEBHOOK_PATH must start with /, e.g. /telegram/webhook.")
    return problems


def token_problems(token: SecretStr | None) -> list[str]:
    value = token.get_secret_value().strip() if token else ""
    if not value:
        return [
            "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in .env "
            "(see .env.example) or the environment."
        ]
    if _TOKEN.fullmatch(value):
        return []
    hint = ""
    if any(c.isspace() or c in "'\"" for c in value):
        hint = " It contains spaces or quotes."
    elif value.lower().startswith("bot"):
        hint = " Leave out the leading 'bot'."
    return [
        "TELEGRAM_BOT_TOKEN is malformed: expected <bot id>:<secret> as @BotFather gives it "
        f"(digits, a colon, then letters, digits, '_' or '-').{hint}"
    ]


def http_url_problems(name: str, url: str | None) -> list[str]:
    if not url:
        return []
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return [f"{name} is not a valid URL (check its host and port)."]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{name} must start with http:// or https://, e.g. http://localhost:8081."]
    return []


def webhook_secret_problems(secret: SecretStr | None) -> list[str]:
    value = secret.get_secret_value() if secret else ""
    if not value:
        return ["WEBHOOK_SECRET is not set: without it anyone could post fake updates to the bot."]
    if not _WEBHOOK_SECRET.fullmatch(value):
        return [
            "WEBHOOK_SECRET may hold only letters, digits, '_' and '-' (1 to 256 characters), "
            "as Telegram requires."
        ]
    return []


def webhook_url_problems(url: str | None) -> list[str]:
    if not url:
        return ["WEBHOOK_URL is not set: webhook mode needs the public HTTPS base URL of the bot."]
    return http_url_problems("WEBHOOK_URL", url)


def mongodb_uri_problems(uri: SecretStr | None) -> list[str]:
    value = uri.get_secret_value().strip() if uri else ""
    if not value:
        return []  # the in-memory store
    if not value.startswith(("mongodb://", "mongodb+srv://")):
        return ["MONGODB_URI must start with mongodb:// or mongodb+srv://."]
    from pymongo.errors import PyMongoError
    from pymongo.uri_parser_shared import _validate_uri

    try:
        # parse_uri's own first step, without the DNS look-ups it does for mongodb+srv://:
        # a DNS hiccup at start-up is not a malformed setting.
        _validate_uri(value, validate=True, warn=False)
    except (PyMongoError, ValueError):
        # pymongo's message may quote an option value (passwords can be options): keep it out.
        return [
            "MONGODB_URI is not a valid MongoDB connection string (check its host, port and "
            "options; a user name or password with :/?#[]@ or % must be percent-encoded)."
        ]
    return []
