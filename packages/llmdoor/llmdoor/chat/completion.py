"""A plain (non-streamed) chat call: send with retries, parse, record and settle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from llmdoor.calls.error_mapping import typed_errors
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import CANCELLED
from llmdoor.calls.request import ChatRequest
from llmdoor.calls.transport import Transport
from llmdoor.chat.think import OPEN, split_think
from llmdoor.errors import LLMError

T = TypeVar("T")


def content_of(response: Any) -> str:
    """Everything the model wrote as text (what it is paid for)."""
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError):
        return ""


def text_of(response: Any) -> str:
    """The answer text (reasoning written inline as ``<think>…</think>`` left out)."""
    text = content_of(response)
    return split_think(text)[0] if OPEN in text else text


def raw(response: Any) -> Any:
    return response


async def complete(
    pipeline: Pipeline, request: ChatRequest, transport: Transport, parse: Callable[[Any], T]
) -> T:
    call = request.call

    async def attempt() -> Any:
        call.attempts += 1
        with typed_errors(call.model_id, call.secrets):
            return await transport.complete(request.kwargs)

    sent = False
    try:
        response = await pipeline.retry.run(attempt)
        sent = True
    except LLMError as err:
        await pipeline.recorder.finish(call, "error", error_kind=err.kind)
        raise
    finally:
        if not sent and not call.finished:
            # Cancelled mid-request (the only way here: attempts raise typed errors, and
            # those are recorded above): the vendor may have billed the prompt, so the
            # estimate is charged, without holding up the cancellation.
            pipeline.recorder.finish_soon(call, "error", error_kind=CANCELLED)
    usage = getattr(response, "usage", None)
    try:
        result = parse(response)
    except BaseException as exc:  # parse is any parser: what it raises is recorded, re-raised
        kind = exc.kind if isinstance(exc, LLMError) else type(exc).__name__
        await pipeline.recorder.finish(
            call, "error", error_kind=kind, usage=usage, response=response
        )
        raise
    await pipeline.recorder.finish(
        call, "ok", usage=usage, response=response, received=content_of(response)
    )
    return result
