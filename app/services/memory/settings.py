"""Settings of personal memory (env prefix MEMORY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MemorySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEMORY_", env_file=".env", extra="ignore")

    # on: the model may propose facts to keep (each one shown with an undo button); users
    # can still switch it off for themselves in /memory. off: only /remember stores facts.
    auto: bool = True
    # Facts a user may keep, and the longest fact.
    max_facts: int = Field(default=50, ge=1, le=1000)
    max_fact_chars: int = Field(default=300, ge=20, le=2000)
    # How much of each call's context the facts may take (about 4 characters a token); the
    # most used and newest facts go in first.
    context_budget: int = Field(default=400, ge=50, le=8000)
