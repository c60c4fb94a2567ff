"""What litellm's bundled model map says of one model id: its row, price, context window
and vision flag. The lowest floor of ``llmdoor.models``: the catalog, pricing and token
counting all read it, and it reads nothing of theirs."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from llmdoor.runtime import _litellm, best_effort


def is_priced(model_id: str) -> bool:
    """Whether litellm knows a price for the id: only priced calls count against budgets."""
    entry = map_entry(model_id) or {}
    return bool(entry.get("input_cost_per_token") or entry.get("output_cost_per_token"))


def litellm_knows_provider(model_id: str) -> bool:
    """Whether litellm can route the id to a provider (it raises for an unknown prefix)."""
    # litellm raises its own BadRequestError and plain ValueErrors here.
    return best_effort(_litellm().get_llm_provider, model_id, default=None) is not None


@functools.lru_cache(maxsize=1024)
def map_entry(model_id: str) -> Mapping[str, Any] | None:
    """litellm's model-map row for an id, or None when litellm does not know it."""
    info = best_effort(_litellm().get_model_info, model_id, default=None)
    return dict(info) if info else None


def model_context_window(model_id: str) -> int | None:
    entry = map_entry(model_id)
    if not entry:
        return None
    value = entry.get("max_input_tokens") or entry.get("max_tokens")
    return int(value) if value else None


def vision_flag(model_id: str) -> bool | None:
    """True/False when litellm knows, None for models it has no row for."""
    entry = map_entry(model_id)
    if not entry:
        return None
    flag = entry.get("supports_vision")
    return None if flag is None else bool(flag)
