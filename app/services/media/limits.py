"""Limits on what the bot accepts as voice, audio and documents (env prefix ``MEDIA_``).
Over a limit the user is told so and nothing reaches a vendor."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MediaLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIA_", env_file=".env", extra="ignore")

    # Voice notes, audio files and video notes: longest and largest accepted. The Bot API
    # lets bots download files up to 20 MB.
    max_audio_seconds: int = Field(default=600, gt=0)
    max_audio_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    # Documents larger than this are not downloaded (LLM_DOCUMENT_MAX_BYTES also applies).
    max_document_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    # Share of the model's context window a document may fill; the rest is left to the
    # conversation and the answer. Longer documents are cut, with a note.
    document_context_share: float = Field(default=0.6, gt=0, le=0.95)
