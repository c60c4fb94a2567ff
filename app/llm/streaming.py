"""A streamed chat call. Retries (the shared policy) only before the first token; a break
after it raises StreamInterrupted with the text so far. Usage is recorded and the budget
settled once, also when the consumer stops reading or the stream carries no usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.llm._mapping import map_exception
from app.llm.errors import LLMError, StreamInterrupted
from app.llm.pipeline import Pipeline
from app.llm.pricing import tokens_of
from app.llm.recorder import CANCELLED
from app.llm.request import ChatRequest
from app.llm.transport import Transport


def delta_of(chunk: Any) -> str:
    try:
        return chunk.choices[0].delta.content or ""
    except (AttributeError, IndexError):
        return ""


def vendor_sent_usage(response: Any) -> bool:
    """Whether the usage litellm hands out at the end of a stream came from the vendor.
    Without a usage chunk from the vendor litellm makes one up from its own token count;
    that is an estimate and must be labelled as one. (``chunks`` is litellm's record of
    what the vendor sent; a stream object without it is taken at its word.)"""
    chunks = getattr(response, "chunks", None)
    if not isinstance(chunks, list):
        return True
    return any(getattr(chunk, "usage", None) is not None for chunk in chunks)


async def _open(
    request: ChatRequest, transport: Transport
) -> tuple[Any, list[Any], AsyncIterator[Any]]:
    """One attempt: send, and read up to the first token, so that everything that can go
    wrong before the user sees text is inside the retry policy's reach."""
    call = request.call
    call.attempts += 1
    chunks: AsyncIterator[Any] | None = None
    try:
        response = await transport.complete(request.kwargs)
        chunks = transport.chunks(response)
        head: list[Any] = []
        async for chunk in chunks:
            head.append(chunk)
            if delta_of(chunk):
                break
        return response, head, chunks
    except Exception as exc:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # a failed attempt releases its response before the retry
        raise map_exception(exc, call.model_id, call.secrets) from None


async def _all(head: list[Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


async def stream(
    pipeline: Pipeline, prepare: Callable[[], Awaitable[ChatRequest]], transport: Transport
) -> AsyncIterator[str]:
    """``prepare`` runs on the first iteration, so a refusal surfaces there. (One generator,
    not one wrapping another: an outer generator's aclose would not reach an inner one.)"""
    request = await prepare()
    call = request.call
    recorder = pipeline.recorder
    parts: list[str] = []
    usage: Any = None
    usage_chunk: Any = None
    opened: AsyncIterator[Any] | None = None
    try:
        try:
            response, head, rest = await pipeline.retry.run(lambda: _open(request, transport))
            opened = rest
        except LLMError as err:
            await recorder.finish(call, "error", error_kind=err.kind)
            raise
        try:
            async for chunk in _all(head, rest):
                chunk_usage = getattr(chunk, "usage", None)
                if chunk_usage is not None and tokens_of(chunk_usage, "prompt_tokens"):
                    usage, usage_chunk = chunk_usage, chunk
                delta = delta_of(chunk)
                if delta:
                    if call.ttft_ms is None:
                        call.ttft_ms = call.elapsed_ms()
                    parts.append(delta)
                    yield delta
        except Exception as exc:
            broke = map_exception(exc, call.model_id, call.secrets)
            if not parts:
                await recorder.finish(call, "error", error_kind=broke.kind)
                raise broke from None
            await recorder.finish(
                call,
                "partial",
                error_kind=StreamInterrupted.kind,
                usage=usage,
                received="".join(parts),
            )
            raise StreamInterrupted(
                f"The answer from {call.model_id} broke off: {broke}",
                model=call.model_id,
                partial_text="".join(parts),
            ) from None
        if usage is not None and not vendor_sent_usage(response):
            usage = usage_chunk = None
        await recorder.finish(
            call, "ok", usage=usage, response=usage_chunk, received="".join(parts)
        )
    finally:
        aclose = getattr(opened, "aclose", None)
        if aclose is not None:
            await aclose()  # the transport releases the response, whoever stopped reading
        if not call.finished:
            # The consumer stopped reading (aclose, cancellation, or asyncio's GC
            # finalizer, which also goes through aclose): what was delivered is a
            # partial answer. Awaiting is allowed here; only yielding is not.
            await recorder.finish(
                call,
                "partial" if parts else "error",
                error_kind=CANCELLED,
                usage=usage,
                received="".join(parts),
            )
