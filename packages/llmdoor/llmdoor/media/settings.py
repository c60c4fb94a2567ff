"""Settings of the media calls (env prefix ``LLM_``, next to the chat settings): which model
transcribes, speaks and draws, and the caps on reading documents."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MediaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_", env_file=".env", extra="ignore")

    # Shortcuts (llmdoor.media.models) or litellm ids. The defaults are OpenAI's current
    # models that litellm prices, so budgets can count them.
    transcribe_model: str = "gpt-4o-mini-transcribe"
    speech_model: str = "gpt-4o-mini-tts"
    speech_voice: str = "alloy"
    image_model: str = "gpt-image-2"
    image_size: str = "1024x1024"

    # Documents: larger files, more pages or a longer conversion are refused with a typed
    # error (DocumentTooLarge / DocumentUnreadable), never half-read in silence.
    document_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    document_max_pages: int = Field(default=300, gt=0)
    document_timeout: float = Field(default=30.0, gt=0)  # seconds per conversion
