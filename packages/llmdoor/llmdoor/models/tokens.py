"""Counting tokens with litellm's tokenizers, cached per turn: a chat re-counts the same
history on every message."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from llmdoor.messages import ChatMessage
from llmdoor.runtime import _litellm, best_effort


def count_tokens(model_id: str, messages: Sequence[ChatMessage]) -> int:
    lit = _litellm()
    tokens = best_effort(lit.token_counter, model=model_id, messages=list(messages), default=None)
    if tokens is None:
        # Unknown tokenizer: fall back to litellm's default (tiktoken) estimate.
        return int(lit.token_counter(messages=list(messages)))
    return int(tokens)


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
