"""The shared path of the media calls (transcription, speech, images) on the chat pipeline:
access -> model -> price estimate -> budget reservation -> send with the one retry policy
-> exactly one usage event of the call's kind, settled once whatever the outcome.

A refusal before the send (access, unknown model, budget) spends nothing and records
nothing, as for chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypedDict, TypeVar

from llmdoor.access import Caller
from llmdoor.calls.error_mapping import typed_errors
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import CANCELLED, Call, Charge
from llmdoor.calls.transport import SyncTransport, Transport
from llmdoor.errors import LLMError
from llmdoor.options import split_options
from llmdoor.runtime import _litellm, ensure_loaded
from llmdoor.usage import CallKind

T = TypeVar("T")


class MediaOptions(TypedDict, total=False):
    """Keyword options of transcribe / speak / generate_image / read_document."""

    user_id: int | None
    username: str | None
    caller: Caller | None  # already resolved by the bot: used as is
    timeout: float | None  # seconds per request
    api_base: str
    api_key: str
    litellm_kwargs: Mapping[str, Any]  # any further litellm parameter


async def admit(pipeline: Pipeline, options: Mapping[str, Any]) -> tuple[Caller, dict[str, Any]]:
    """The caller (AccessDenied for strangers) and the keyword arguments for litellm."""
    await ensure_loaded()
    own, passthrough = split_options(options)
    caller = await pipeline.admit(own)
    settings = pipeline.settings
    timeout = own.get("timeout")
    kwargs: dict[str, Any] = {
        "timeout": timeout if timeout is not None else settings.timeout,
        # Our retry policy is the only one.
        "num_retries": 0,
        "max_retries": 0,
        "drop_params": True,
    }
    if settings.api_base and "api_base" not in passthrough and "base_url" not in passthrough:
        kwargs["api_base"] = settings.api_base
    if settings.api_key is not None and "api_key" not in passthrough:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    kwargs.update(passthrough)
    return caller, kwargs


async def open_call(
    pipeline: Pipeline,
    caller: Caller,
    *,
    kind: CallKind,
    model_id: str,
    shortcut: str | None,
    estimate: float | None,
    kwargs: Mapping[str, Any],
) -> Call:
    """Reserve the estimate (BudgetExceeded: the vendor is never called)."""
    hold = await pipeline.budget.reserve(caller, estimate)
    return Call(
        caller=caller,
        model_id=model_id,
        shortcut=shortcut,
        hold=hold,
        reserved_usd=estimate,
        count_prompt=lambda: 0,
        count_output=lambda _text: 0,
        secrets=(kwargs.get("api_key"),),
        kind=kind,
    )


async def invoke(transport: Transport, name: str, kwargs: dict[str, Any]) -> Any:
    """litellm's ``name`` (sync twins) or ``a<name>`` (async) with these arguments."""
    lit = _litellm()
    if isinstance(transport, SyncTransport):
        function = getattr(lit, name)
        if transport.direct:
            return function(**kwargs)
        return await asyncio.to_thread(function, **kwargs)
    return await getattr(lit, f"a{name}")(**kwargs)


async def send(pipeline: Pipeline, call: Call, request: Callable[[], Awaitable[T]]) -> T:
    """``request()`` under the retry policy; on failure the event is recorded here."""

    async def attempt() -> T:
        call.attempts += 1
        with typed_errors(call.model_id, call.secrets):
            return await request()

    sent = False
    try:
        result = await pipeline.retry.run(attempt)
        sent = True
    except LLMError as err:
        # Refused or failed before any result: nothing was billed.
        zero = 0.0 if call.reserved_usd is not None else None
        await pipeline.recorder.finish(
            call, "error", error_kind=err.kind, charge=Charge(0, 0, zero, 0.0)
        )
        raise
    finally:
        if not sent and not call.finished:
            # Cancelled mid-request (attempts raise typed errors, and those are recorded
            # above): the vendor may have done the work, so the estimate is charged,
            # without holding up the cancellation.
            estimate = Charge(0, 0, call.reserved_usd, call.reserved_usd, estimated=True)
            pipeline.recorder.finish_soon(call, "error", error_kind=CANCELLED, charge=estimate)
    return result


async def succeed(
    pipeline: Pipeline,
    call: Call,
    cost: float | None,
    *,
    estimated: bool = False,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> None:
    charge = Charge(prompt_tokens, completion_tokens, cost, cost, estimated=estimated)
    await pipeline.recorder.finish(call, "ok", charge=charge)


def reported_cost(response: Any) -> float | None:
    """litellm's own figure for the response, when it priced it (a positive number)."""
    hidden = getattr(response, "_hidden_params", None)
    value = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else None
