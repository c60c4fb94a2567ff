"""What models exist, which are usable with the configured keys, and what they cost."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from llmdoor.models import gateway, pricing
from llmdoor.models.model_map import (
    is_priced,
    litellm_knows_provider,
    map_entry,
    model_context_window,
    vision_flag,
)
from llmdoor.models.shortcuts import merged_shortcuts
from llmdoor.runtime import _litellm, best_effort

__all__ = [
    "ModelInfo",
    "is_priced",
    "litellm_knows_provider",
    "map_entry",
    "model_context_window",
    "vision_flag",
]

if TYPE_CHECKING:
    from llmdoor.settings import LLMSettings

# The env vars litellm reads per provider; any one of them being set makes it usable.
PROVIDER_KEYS: Mapping[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "codestral": ("CODESTRAL_API_KEY", "MISTRAL_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
    "cohere_chat": ("COHERE_API_KEY", "CO_API_KEY"),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
    "deepinfra": ("DEEPINFRA_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "moonshot": ("MOONSHOT_API_KEY",),
    "azure": ("AZURE_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"),
    "bedrock_converse": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"),
    "vertex_ai": ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT"),
    "huggingface": ("HF_TOKEN", "HUGGINGFACE_API_KEY"),
}
# Local servers need no key but an address: without one litellm would call a default port
# on the bot's own host, so they are offered only once their address is configured.
LOCAL_PROVIDER_BASES: Mapping[str, tuple[str, ...]] = {
    "ollama": ("OLLAMA_API_BASE",),
    "ollama_chat": ("OLLAMA_API_BASE",),
    "lm_studio": ("LM_STUDIO_API_BASE",),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE",),
    "llamafile": ("LLAMAFILE_API_BASE",),
}
KEYLESS_PROVIDERS = frozenset(LOCAL_PROVIDER_BASES)


class ModelInfo(BaseModel):
    shortcut: str | None
    model_id: str
    provider: str
    available: bool
    context_window: int | None = None
    input_price_per_mtok: float | None = None  # USD per million input tokens
    output_price_per_mtok: float | None = None
    supports_vision: bool = False


def provider_of(model_id: str) -> str:
    """The litellm provider of an id: its prefix, or litellm's guess for a bare name."""
    prefix, sep, _ = model_id.partition("/")
    if sep:
        return prefix
    found = best_effort(_litellm().get_llm_provider, model_id, default=None)
    return "unknown" if found is None else str(found[1])


def is_known_provider(model_id: str) -> bool:
    """Whether the catalog knows how this id's provider is configured (key or address)."""
    provider = provider_of(model_id)
    return provider in PROVIDER_KEYS or provider in LOCAL_PROVIDER_BASES


def is_available(model_id: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether the provider's key (or a local server's address) is configured."""
    env = os.environ if env is None else env
    provider = provider_of(model_id)
    names = PROVIDER_KEYS.get(provider) or LOCAL_PROVIDER_BASES.get(provider)
    if names is None:
        # A provider we have no table entry for (an admin's custom shortcut): trust it.
        return True
    return any(env.get(name) for name in names)


def _per_mtok(value: Any) -> float | None:
    return None if value is None else round(float(value) * 1_000_000, 6)


def describe(
    model_id: str,
    shortcut: str | None = None,
    env: Mapping[str, str] | None = None,
    all_available: bool = False,
) -> ModelInfo:
    entry = map_entry(model_id) or {}
    provider = provider_of(model_id)
    return ModelInfo(
        shortcut=shortcut,
        model_id=model_id,
        provider=str(entry.get("litellm_provider") or provider),
        available=all_available or is_available(model_id, env),
        context_window=model_context_window(model_id),
        input_price_per_mtok=_per_mtok(entry.get("input_cost_per_token")),
        output_price_per_mtok=_per_mtok(entry.get("output_cost_per_token")),
        supports_vision=bool(entry.get("supports_vision")),
    )


def list_models(
    available_only: bool = True,
    *,
    shortcuts: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    all_available: bool = False,
) -> list[ModelInfo]:
    """One entry per shortcut (built-in and user-defined), in declaration order.

    `all_available` is for a gateway setup (LLM_API_KEY/LLM_API_BASE) where one key
    reaches every model.
    """
    infos = [
        describe(model_id, shortcut, env, all_available)
        for shortcut, model_id in merged_shortcuts(shortcuts).items()
    ]
    return [m for m in infos if m.available] if available_only else infos


def list_for(
    settings: LLMSettings, *, available_only: bool = True, env: Mapping[str, str] | None = None
) -> list[ModelInfo]:
    """The catalog under these settings: what a discovered gateway serves (shortcuts to
    models it does not serve are hidden), else one entry per shortcut as ``list_models``."""
    served = gateway.known(settings)
    if served is None:
        return list_models(
            available_only,
            shortcuts=settings.shortcuts,
            env=env,
            all_available=bool(settings.api_base),
        )
    infos: list[ModelInfo] = []
    for shortcut, model_id in merged_shortcuts(gateway.gateway_shortcuts(settings)).items():
        model = served.get(model_id)
        if model is None:
            continue
        rate = pricing.rate_for(model_id, settings)
        base = describe(rate.litellm_id, shortcut, env, True) if rate and rate.litellm_id else None
        prefix, sep, _ = model.id.partition("/")
        infos.append(
            ModelInfo(
                shortcut=shortcut,
                model_id=model_id,
                provider=prefix if sep else "gateway",
                available=True,
                context_window=model.context_window or (base.context_window if base else None),
                input_price_per_mtok=base.input_price_per_mtok
                if base
                else (_per_mtok(rate.input_per_token) if rate else None),
                output_price_per_mtok=base.output_price_per_mtok
                if base
                else (_per_mtok(rate.output_per_token) if rate else None),
                supports_vision=bool(base and base.supports_vision),
            )
        )
    return infos
