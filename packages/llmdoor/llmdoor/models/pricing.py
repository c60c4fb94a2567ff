"""What a call costs: litellm's figure for a response, a price from litellm's map for
counted tokens, and token counts for estimates when the vendor reported none."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from llmdoor.messages import ChatMessage
from llmdoor.models import gateway, model_map
from llmdoor.models.tokens import turn_tokens
from llmdoor.runtime import _litellm, best_effort

if TYPE_CHECKING:
    from llmdoor.settings import LLMSettings

log = logging.getLogger(__name__)

PriceSource = Literal["gateway", "litellm", "fallback"]


@dataclass(frozen=True)
class Rate:
    """Where a model's price comes from, in order: the gateway's own price, litellm's map
    (for the id, or for the underlying model the gateway names), the operator's fallback."""

    source: PriceSource
    input_per_token: float = 0.0
    output_per_token: float = 0.0
    litellm_id: str | None = None  # the map row priced from, for source "litellm"

    @property
    def fallback(self) -> bool:
        return self.source == "fallback"

    def price(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.litellm_id is not None:
            return price(self.litellm_id, prompt_tokens, completion_tokens)
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token

    def cost(
        self, model_id: str, prompt_tokens: int, completion_tokens: int, response: Any
    ) -> float | None:
        if self.litellm_id == model_id:
            return cost(model_id, prompt_tokens, completion_tokens, response)
        return self.price(prompt_tokens, completion_tokens)


def rate_for(model_id: str, settings: LLMSettings) -> Rate | None:
    """The model's price by the rules above; None when it has none (budgets cannot count it)."""
    served = gateway.known(settings)
    model = served.get(model_id) if served is not None else None
    if model is not None and model.priced:
        return Rate("gateway", model.input_per_token or 0.0, model.output_per_token or 0.0)
    candidates = [model.underlying, model.id] if model is not None else [model_id]
    rows = [c for c in candidates if c and is_priced(c)]
    for candidate in rows:
        if model_map.is_priced(candidate):
            return Rate("litellm", litellm_id=candidate)
    if (
        settings.unpriced_input_per_mtok is not None
        or settings.unpriced_output_per_mtok is not None
    ):
        return Rate(
            "fallback",
            (settings.unpriced_input_per_mtok or 0.0) / 1_000_000,
            (settings.unpriced_output_per_mtok or 0.0) / 1_000_000,
        )
    # A map row without a price (a local model): it costs 0, but is not "priced" for friends.
    return Rate("litellm", litellm_id=rows[0]) if rows else None


def has_price(rate: Rate | None) -> bool:
    """A real or fallback price: what friends' models need (a free local row does not count)."""
    if rate is None:
        return False
    return rate.litellm_id is None or model_map.is_priced(rate.litellm_id)


def is_priced(model_id: str) -> bool:
    return model_map.map_entry(model_id) is not None


def price(model_id: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for these token counts at the model's price in litellm's map; None when the map
    has no price for it (never a guess)."""
    if not is_priced(model_id):
        return None
    if not prompt_tokens and not completion_tokens:
        return 0.0
    costs = best_effort(
        _litellm().cost_per_token,
        model=model_id,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        default=None,
    )
    if costs is None:  # litellm raises its own types for rows without a price
        return None
    prompt_cost, completion_cost = costs
    return float(prompt_cost) + float(completion_cost)


def reported_cost(response: Any) -> float | None:
    """The cost litellm already computed for a response or final stream chunk."""
    hidden = getattr(response, "_hidden_params", None)
    value = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return float(value) if isinstance(value, int | float) else None


def cost(model_id: str, prompt_tokens: int, completion_tokens: int, response: Any) -> float | None:
    """The real cost of a call the vendor reported usage for."""
    if not is_priced(model_id):
        return None
    # litellm prices every response it returns (cache and tier aware); reusing that
    # figure saves ~0.3 ms per call over pricing it again.
    reported = reported_cost(response) if response is not None else None
    if reported is not None:
        return reported
    return price(model_id, prompt_tokens, completion_tokens)


def tokens_of(usage: Any, name: str) -> int:
    value: Any = getattr(usage, name, None) if usage is not None else None
    return int(value) if isinstance(value, int | float) else 0


def count_messages(model_id: str, messages: Sequence[ChatMessage]) -> int:
    """Prompt tokens by the model's tokenizer. Per turn and cached: a chat sends the same
    history again with every message."""
    total = 0
    for message in messages:
        tokens = best_effort(turn_tokens, model_id, message, default=None)
        if tokens is None:
            # Image parts the tokenizer cannot size: count their text, the rest is small
            # next to max_tokens in any estimate.
            content = message.get("content")
            parts = content if isinstance(content, list) else []
            text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
            tokens = count_text(model_id, text)
        total += tokens
    return total


def count_text(model_id: str, text: str) -> int:
    if not text:
        return 0
    lit = _litellm()
    tokens = best_effort(lit.token_counter, model=model_id, text=text, default=None)
    if tokens is None:
        return int(lit.token_counter(text=text))
    return int(tokens)
