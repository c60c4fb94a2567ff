"""The options every query takes, defined once.

`QueryOptions` is what the public query functions accept as keyword arguments. Its own
keys are interpreted by llmdoor; every other keyword (the common ones are typed in
`LiteLLMOptions`, the rest go in `litellm_kwargs` or, untyped, as plain keywords) passes
through to litellm untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict, cast

from llmdoor.access import Caller
from llmdoor.messages import Attachment, ChatMessage
from llmdoor.usage import CallKind, UsageEvent


class OwnOptions(TypedDict, total=False):
    system_message: str | None
    chat_history: Sequence[ChatMessage] | None
    attachments: Sequence[Attachment] | None
    user_id: int | None
    username: str | None
    # Already resolved (e.g. by the bot's middleware): used as is, never looked up again.
    caller: Caller | None
    temperature: float | None
    max_tokens: int | None
    timeout: float | None  # seconds; the HTTP timeout litellm applies per request
    litellm_kwargs: Mapping[str, Any]  # any further litellm parameter
    # The tool loop (with Tools or functions in ``tools=``): rounds that run tools at most,
    # seconds one tool call may take (a tool's own timeout can only shorten it), and
    # tokens of one result the model reads. None: LLM_TOOL_MAX_ROUNDS / LLM_TOOL_TIMEOUT /
    # LLM_TOOL_RESULT_LIMIT.
    max_tool_rounds: int | None
    max_tool_calls_per_round: int | None
    max_tool_calls_per_answer: int | None
    tool_timeout: float | None
    tool_result_limit: int | None
    # Called with the usage event of every model call the query makes (each tool round;
    # a stopped or broken stream too), as it is recorded: what one answer cost in all.
    on_usage: Callable[[UsageEvent], None] | None
    # What the call is for, as its usage record says (default: chat). A caller's own
    # background calls (e.g. a conversation summary) are told apart in statistics by it.
    kind: CallKind | None


class LiteLLMOptions(TypedDict, total=False):
    """The litellm parameters people pass most; typed so mypy accepts them."""

    api_base: str
    base_url: str
    api_key: str
    top_p: float
    stop: str | list[str]
    seed: int
    presence_penalty: float
    frequency_penalty: float
    response_format: Any
    # litellm's schema dicts (passed through), or llmdoor Tools / plain functions, which
    # the provider runs in its tool loop (llmdoor.tools).
    tools: Sequence[Any]
    tool_choice: Any
    reasoning_effort: str
    extra_body: dict[str, Any]
    extra_headers: dict[str, str]
    metadata: dict[str, Any]
    mock_response: str


class QueryOptions(OwnOptions, LiteLLMOptions, total=False):
    """Keyword options of every query_* / aquery_llm_* function."""


_OWN_KEYS = frozenset(OwnOptions.__annotations__) - {"litellm_kwargs"}


def split_options(options: Mapping[str, Any]) -> tuple[OwnOptions, dict[str, Any]]:
    """(llmdoor's own options, the keyword arguments meant for litellm)."""
    own: dict[str, Any] = {}
    passthrough: dict[str, Any] = {}
    for key, value in options.items():
        if key in _OWN_KEYS:
            own[key] = value
        elif key == "litellm_kwargs":
            passthrough.update(value or {})
        else:
            passthrough[key] = value
    return cast(OwnOptions, own), passthrough
