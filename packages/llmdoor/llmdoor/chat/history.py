"""Trim a conversation so it fits the model's context window (oldest turns go first)."""

from __future__ import annotations

from collections.abc import Sequence

from llmdoor.messages import ChatMessage
from llmdoor.models.model_map import model_context_window
from llmdoor.models.tokens import count_tokens, turn_tokens

DEFAULT_CONTEXT_WINDOW = 8192


def fit_history(
    model_id: str,
    system_message: str | None,
    history: Sequence[ChatMessage],
    prompt: str,
    reserve_tokens: int = 1024,
    default_context_window: int = DEFAULT_CONTEXT_WINDOW,
) -> list[ChatMessage]:
    """The newest suffix of `history` that fits with the system message, prompt and a
    reply reserve. Returns [] when not even the prompt fits (the call will then fail
    with ContextTooLong, which is the honest answer)."""
    window = model_context_window(model_id) or default_context_window
    budget = window - reserve_tokens
    fixed: list[ChatMessage] = [{"role": "user", "content": prompt}]
    if system_message:
        fixed.insert(0, {"role": "system", "content": system_message})
    used = count_tokens(model_id, fixed)
    # Counting each turn once keeps this linear; the per-message overhead makes the sum a
    # slight overestimate, which errs on the safe side.
    sizes = [turn_tokens(model_id, turn) for turn in history]
    total = used + sum(sizes)
    start = 0
    while start < len(history) and total > budget:
        total -= sizes[start]
        start += 1
    # Do not open the conversation with an orphaned assistant reply, nor with tool results
    # whose call was trimmed away (vendors refuse a tool result without its call): a call
    # and its results go together.
    while start < len(history) and history[start].get("role") in ("assistant", "tool"):
        total -= sizes[start]
        start += 1
    if total > budget:
        return []
    return [dict(turn) for turn in history[start:]]
