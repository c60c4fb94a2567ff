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


# Texts longer than this are not tokenized: they count as their UTF-8 bytes, which no
# byte-level tokenizer exceeds (a safe over-estimate, and no second of CPU on the loop).
EXACT_CHARS = 64 * 1024


@functools.lru_cache(maxsize=8192)
def _text_tokens(model_id: str, text: str) -> int:
    return count_tokens(model_id, [{"role": "user", "content": text}])


def text_tokens(model_id: str, text: str) -> int:
    """Tokens of a text, or for a very long one its UTF-8 bytes (an upper bound)."""
    if len(text) > EXACT_CHARS:
        return len(text.encode("utf-8", "replace"))
    return _text_tokens(model_id, text)


def _tool_call_tokens(model_id: str, turn: ChatMessage) -> int:
    """Tokens of an assistant message's tool calls: names and arguments. litellm's counter
    (and the per-turn cache, keyed on the content) would count an empty content and miss
    a 3 MB argument altogether."""
    total = 0
    for call in turn.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            text = f"{function.get('name') or ''} {function.get('arguments') or ''}"
            total += text_tokens(model_id, text)
    return total


def turn_tokens(model_id: str, turn: ChatMessage) -> int:
    """Tokens of one message, its tool calls' arguments included. Cached: a chat re-counts
    the same history on every message, and tokenizing a long history costs milliseconds
    the event loop cannot spare."""
    content = turn.get("content")
    calls = _tool_call_tokens(model_id, turn) if turn.get("tool_calls") else 0
    if content is None or isinstance(content, str):
        text = content or ""
        if len(text) > EXACT_CHARS:
            return len(text.encode("utf-8", "replace")) + calls
        return _turn_tokens(model_id, str(turn.get("role", "user")), text) + calls
    return count_tokens(model_id, [turn]) + calls
