"""Settings of scheduled work (env prefix SCHEDULE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScheduleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCHEDULE_", env_file=".env", extra="ignore")

    # A run due while the bot was down runs after start-up if it is at most this late;
    # later ones are skipped (the user is told).
    catchup_hours: float = Field(default=6.0, ge=0)
    # Reminders and scheduled prompts a user may have at once.
    max_per_user: int = Field(default=20, ge=1, le=1000)
    # The shortest time between two runs of a scheduled prompt (each run is a paid call).
    min_interval_minutes: int = Field(default=60, ge=1, le=10080)
    # The model may set reminders and scheduled prompts when asked in words (its
    # ``schedule`` tool, offered with every answer).
    tool: bool = True
    # Runs started at once by one instance: a burst at 08:00 must not starve answers.
    parallel: int = Field(default=4, ge=1, le=64)
