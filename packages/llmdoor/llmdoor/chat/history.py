"""Trim a conversation so it fits the model's context window (oldest turns go first)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from llmdoor.calls.runtime import _litellm
from llmdoor.messages import ChatMessage
from llmdoor.models.catalog import model_context_window

DEFAULT_CONTEXT_WINDOW = 8192


def count_tokens(model_id: str, messages: Sequence[ChatMessage]) -> int:
    lit = _litellm()
    try:
        return int(lit.token_counter(model=model_id, messages=list(messages)))
    except Exception:
        # Unknown tokenizer: fall back to litellm's default (tiktoken) estimate.
        return int(lit.token_counter(messages=list(messages)))


@functools.lru_cache(maxsize=8192)
def _turn_tokens(model_id: str, role: str, content: str) -> int:
    return count_tokens(model_id, [{"role": role, "content": content}])


def turn_tokens(model_id: str, turn: ChatMessage) -> int:
    """Tokens of one message. Cached: a chat re-counts the same history on every message,
    and tokenizing a long history costs milliseconds the event loop cannot spare."""
    content = turn.get("content")
    if isinstance(content, str):
        return _turn_tokens(model_id, str(turn.get("role", "user")), content)
    return count_tokens(model_id, [turn])


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
