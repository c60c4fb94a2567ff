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
    # Files are read in child processes (killed at the timeout): how many at once, how
    # much memory each may take, and how many one user may have being read at once.
    document_workers: int = Field(default=2, ge=1, le=32)
    document_memory_mb: int = Field(default=768, ge=64)
    document_per_user: int = Field(default=2, ge=1)
    # Caps on what one file may cost. An archive (DOCX, XLSX) is judged before it is
    # opened: all its parts expanded, how many parts, how far one part expands. The
    # readers stop (and say the document was cut) at the caps on paragraphs, cells
    # (spreadsheet cells scanned, blank ones included, and table cells), sheets and
    # characters of text.
    document_max_expanded_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    document_max_ratio: float = Field(default=100.0, gt=1)
    document_max_entries: int = Field(default=5000, gt=0)
    document_max_paragraphs: int = Field(default=20_000, gt=0)
    document_max_cells: int = Field(default=200_000, gt=0)
    document_max_sheets: int = Field(default=20, gt=0)
    document_max_chars: int = Field(default=2_000_000, gt=0)
