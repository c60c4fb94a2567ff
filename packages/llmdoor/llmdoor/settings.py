"""Settings of the LLM layer (env prefix `LLM_`, from the environment and `.env`), shared by
the bot and library users."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def parse_shortcuts(value: Any) -> dict[str, str]:
    """Accept a mapping, JSON (`{"mine": "openai/gpt-4o"}`) or `mine=openai/gpt-4o,local=...`."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k).strip().lower(): str(v).strip() for k, v in value.items()}
    if not isinstance(value, str):
        raise ValueError("LLM_SHORTCUTS must be a mapping, JSON object or 'name=id,...'")
    text = value.strip()
    if text.startswith("{"):
        return parse_shortcuts(json.loads(text))
    result: dict[str, str] = {}
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        name, sep, model_id = item.partition("=")
        if not sep or not name.strip() or not model_id.strip():
            raise ValueError(f"LLM_SHORTCUTS entry {item.strip()!r} is not 'name=model_id'")
        result[name.strip().lower()] = model_id.strip()
    return result


class LLMSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_", env_file=".env", extra="ignore")

    default_model: str = "gpt-4o-mini"
    # NoDecode: pydantic-settings would otherwise insist on JSON for a dict-typed env var.
    shortcuts: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_initial: float = Field(default=0.5, ge=0)  # seconds; doubled per attempt
    backoff_max: float = Field(default=8.0, ge=0)
    retry_after_cap: float = Field(default=20.0, ge=0)  # never sleep longer than this on 429
    timeout: float = Field(default=120.0, gt=0)  # per request, seconds

    # Route every call through one OpenAI-compatible endpoint (a litellm proxy, a local
    # server, or the test fake) unless the caller passes its own api_base.
    api_base: str | None = None
    api_key: SecretStr | None = None
    # With both set, the model catalog comes from the gateway's /v1/models: rediscovered
    # every `gateway_refresh_seconds`, and on /model when older than `gateway_cache_seconds`.
    gateway_discovery: bool = True
    gateway_refresh_seconds: float = Field(default=900.0, gt=0)
    gateway_cache_seconds: float = Field(default=60.0, ge=0)
    gateway_timeout: float = Field(default=5.0, gt=0)  # per discovery request, seconds

    # USD per million tokens for a model neither the gateway nor litellm prices; unset: such
    # models stay unpriced (budgets cannot count them and friends cannot pick them).
    unpriced_input_per_mtok: float | None = Field(default=None, ge=0)
    unpriced_output_per_mtok: float | None = Field(default=None, ge=0)

    # "auto": streams of OpenAI-compatible providers (OpenAI, an OpenAI-compatible api_base,
    # OpenRouter, DeepSeek, vLLM, a LiteLLM proxy) are read straight off the wire, ~10x less
    # CPU per token than through litellm (llmdoor.calls.fast_stream); "off": every call
    # goes through litellm.
    fast_stream: Literal["auto", "off"] = "auto"

    default_context_window: int = Field(default=8192, gt=0)
    # The max_tokens every call of a non-admin is capped at (and sent with), so one call
    # cannot cost far more than the budget has left. Also the output size estimated for
    # an admin's call that sets no max_tokens.
    user_max_tokens: int = Field(default=4096, gt=0)

    # The tool loop: rounds that run tools at most (then the model must answer), and the
    # seconds one tool call may take before the model is told it timed out.
    tool_max_rounds: int = Field(default=5, ge=1, le=50)
    # Tool calls run at most per round and per answer; the model's further calls get a
    # result saying the limit refused them (a model asking for 300 fetches a round gets 8).
    tool_max_calls_per_round: int = Field(default=8, ge=1, le=256)
    tool_max_calls_per_answer: int = Field(default=24, ge=1, le=1024)
    tool_timeout: float = Field(default=30.0, gt=0)
    # Tokens of one tool result the model reads at most; a longer one is cut, with a note
    # saying so (an MCP server or a function can return megabytes).
    tool_result_limit: int = Field(default=8000, ge=100)

    @field_validator("shortcuts", mode="before")
    @classmethod
    def _parse_shortcuts(cls, value: Any) -> dict[str, str]:
        return parse_shortcuts(value)
