"""Settings of conversations, personas and exports (env prefix CONVERSATIONS_)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Telegram bots may upload documents of up to 50 MB; parts stay below with room to spare.
DEFAULT_EXPORT_PART_BYTES = 45_000_000


class ConversationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONVERSATIONS_", env_file=".env", extra="ignore")

    # Unarchived conversations per user (all chats); beyond it the oldest inactive one is
    # archived (kept, listed under "Archived" in /chats).
    max_per_user: int = Field(default=100, ge=1)
    # Name each conversation with one short model call after its first exchange.
    auto_title: bool = True
    # The model of that call; empty: the conversation's own model.
    title_model: str | None = None
    # Export documents are split into parts of at most this many bytes.
    export_part_bytes: int = Field(default=DEFAULT_EXPORT_PART_BYTES, ge=2_000, le=50_000_000)
    # Personas a user may create.
    max_personas: int = Field(default=20, ge=0)
    # Long conversations are folded into a summary (off: their oldest turns are cut).
    summaries: bool = True
    # Fold a conversation's oldest turns into a summary (one model call, of kind
    # "summary") once the rest would take more than this many tokens; unset: three
    # quarters of the model's context window.
    summary_at: int | None = Field(default=None, ge=200)
    # The model of that call; empty: the conversation's own model.
    summary_model: str | None = None

    @field_validator("title_model", "summary_model", "summary_at", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
