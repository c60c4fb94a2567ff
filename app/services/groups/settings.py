"""Settings of group chats (env prefix GROUP_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GroupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GROUP_", env_file=".env", extra="ignore")

    # Messages the bot keeps per group for /catchup (it sees them with privacy mode off, or
    # as an admin); 0 keeps none and turns /catchup off.
    history_size: int = Field(default=200, ge=0, le=5_000)
    # A kept message is dropped after this many hours.
    history_hours: float = Field(default=48.0, gt=0, le=24 * 30)
    # Comma-separated words: a group message starting with one is answered as a mention is
    # (the bot sees such messages only with privacy mode off, or as an admin).
    trigger: str = ""

    @property
    def trigger_words(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.trigger.split(",") if w.strip())
