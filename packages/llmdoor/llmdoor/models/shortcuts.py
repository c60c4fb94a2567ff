"""Model shortcuts (what users type) -> litellm model ids (what litellm calls).

Every built-in id is checked against litellm's bundled model map in CI, so a typo here
fails a test instead of a user's request.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from llmdoor.errors import UnknownModel

BUILTIN_SHORTCUTS: Mapping[str, str] = {
    # OpenAI
    "gpt-4o": "openai/gpt-4o",
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "gpt-4.1": "openai/gpt-4.1",
    "gpt-4.1-mini": "openai/gpt-4.1-mini",
    "gpt-4.1-nano": "openai/gpt-4.1-nano",
    "o3": "openai/o3",
    "o3-pro": "openai/o3-pro",
    "o4-mini": "openai/o4-mini",
    "gpt-5": "openai/gpt-5",
    "gpt-5-mini": "openai/gpt-5-mini",
    "gpt-5-nano": "openai/gpt-5-nano",
    "gpt-5.4-mini": "openai/gpt-5.4-mini",
    "gpt-5.4-nano": "openai/gpt-5.4-nano",
    "gpt-5.5": "openai/gpt-5.5",
    "gpt-5.6": "openai/gpt-5.6",
    # Anthropic. Claude 3.7 Sonnet is retired on Anthropic's own API and litellm's map
    # only keeps it for Amazon Bedrock (cross-region inference profile), so that is where
    # the shortcut points; it needs AWS credentials.
    "claude-3.7": "bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-sonnet": "anthropic/claude-sonnet-5-5",
    "claude-opus": "anthropic/claude-opus-5-5",
    "claude-haiku": "anthropic/claude-haiku-5-5",
    "claude-sonnet-4.5": "anthropic/claude-sonnet-4-5",
    "claude-sonnet-4.6": "anthropic/claude-sonnet-4-6",
    "claude-opus-4.8": "anthropic/claude-opus-4-8",
    "claude-haiku-4.5": "anthropic/claude-haiku-4-5",
    # Google
    "gemini-2.5-pro": "gemini/gemini-2.5-pro",
    "gemini-2.5-flash": "gemini/gemini-2.5-flash",
    "gemini-2.5-flash-lite": "gemini/gemini-2.5-flash-lite",
    "gemini-pro": "gemini/gemini-3.1-pro-preview",
    "gemini-flash": "gemini/gemini-3.8-flash",
    # DeepSeek
    "deepseek-chat": "deepseek/deepseek-chat",
    "deepseek-reasoner": "deepseek/deepseek-reasoner",
    "deepseek-v4-pro": "deepseek/deepseek-v4-pro",
    "deepseek-v4-flash": "deepseek/deepseek-v4-flash",
    # xAI
    "grok": "xai/grok-4.7",
    "grok-4.7": "xai/grok-4.7",
    "grok-code": "xai/grok-code-fast-1",
    # Mistral
    "mistral-large": "mistral/mistral-large-latest",
    "mistral-medium": "mistral/mistral-medium-latest",
    "mistral-small": "mistral/mistral-small-latest",
    "codestral": "mistral/codestral-latest",
    # Local (no key needed)
    "llama3": "ollama/llama3",
    "llama3.1": "ollama/llama3.1",
}


def merged_shortcuts(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Built-ins overlaid with the user's own (user entries win)."""
    merged = dict(BUILTIN_SHORTCUTS)
    if extra:
        merged.update({k.lower(): v for k, v in extra.items()})
    return merged


def resolve_model(name: str, extra: Mapping[str, str] | None = None) -> str:
    """Turn a shortcut or a litellm id into a litellm id.

    A name containing "/" is taken as a full litellm id and passed through unchanged, so
    `openrouter/...`, `ollama/...` and self-hosted ids never need a shortcut.
    """
    key = name.strip()
    if not key:
        raise UnknownModel(name, suggestions=[])
    shortcuts = merged_shortcuts(extra)
    if key.lower() in shortcuts:
        return shortcuts[key.lower()]
    if "/" in key:
        return key
    if _is_bare_litellm_name(key):
        return key
    suggestions = difflib.get_close_matches(key.lower(), list(shortcuts), n=3, cutoff=0.5)
    raise UnknownModel(key, suggestions=suggestions)


def shortcut_for(model_id: str, extra: Mapping[str, str] | None = None) -> str | None:
    for short, target in merged_shortcuts(extra).items():
        if target == model_id:
            return short
    return None


def _is_bare_litellm_name(name: str) -> bool:
    # A bare id litellm knows (e.g. "gpt-4o-2024-08-06") is accepted as is; this is the
    # only branch of resolve_model that needs litellm loaded.
    from llmdoor.runtime import _litellm

    entry = _litellm().model_cost.get(name)
    return isinstance(entry, dict) and entry.get("mode") in (None, "chat", "responses")
