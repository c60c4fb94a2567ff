"""A plain (non-streamed) chat call: send with retries, parse, record and settle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from llmdoor.calls.error_mapping import map_exception
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
        try:
            return await transport.complete(request.kwargs)
        except Exception as exc:
            raise map_exception(exc, call.model_id, call.secrets) from None

    try:
        response = await pipeline.retry.run(attempt)
    except LLMError as err:
        await pipeline.recorder.finish(call, "error", error_kind=err.kind)
        raise
    except BaseException:
        # Cancelled mid-request (the only way here: attempts raise typed errors): the
        # vendor may have billed the prompt, so the estimate is charged, without holding
        # up the cancellation.
        pipeline.recorder.finish_soon(call, "error", error_kind=CANCELLED)
        raise
    usage = getattr(response, "usage", None)
    try:
        result = parse(response)
    except BaseException as exc:
        kind = exc.kind if isinstance(exc, LLMError) else type(exc).__name__
        await pipeline.recorder.finish(
            call, "error", error_kind=kind, usage=usage, response=response
        )
        raise
    await pipeline.recorder.finish(
        call, "ok", usage=usage, response=response, received=content_of(response)
    )
    return result
