"""A streamed chat call. Retries (the shared policy) only before the first token; a break
after it raises StreamInterrupted with the text so far. Usage is recorded and the budget
settled once, also when the consumer stops reading or the stream carries no usage.

``stream_events`` yields typed events (answer text, reasoning, and a last
``StreamFinished`` with the tool calls asked for and the usage event); ``stream`` keeps
only the answer text."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from llmdoor.calls.error_mapping import typed_errors
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import CANCELLED
from llmdoor.calls.request import ChatRequest
from llmdoor.calls.transport import Transport
from llmdoor.chat.think import ThinkSplitter
from llmdoor.errors import LLMError, StreamInterrupted
from llmdoor.events import (
    ReasoningDelta,
    StreamEvent,
    StreamFinished,
    TextComplete,
    TextDelta,
    ToolCall,
)
from llmdoor.models.pricing import tokens_of


def delta_of(chunk: Any) -> str:
    try:
        return chunk.choices[0].delta.content or ""
    except (AttributeError, IndexError):
        return ""


def _delta(chunk: Any) -> Any:
    try:
        return chunk.choices[0].delta
    except (AttributeError, IndexError):
        return None


def reasoning_of(chunk: Any) -> str:
    """The reasoning a chunk carries: litellm's ``reasoning_content``, else the text of its
    ``thinking_blocks`` (Anthropic-style; litellm usually fills both with the same text)."""
    delta = _delta(chunk)
    value = getattr(delta, "reasoning_content", None)
    if isinstance(value, str) and value:
        return value
    texts = []
    for block in getattr(delta, "thinking_blocks", None) or []:
        if isinstance(block, dict):
            text = block.get("thinking")
        else:
            text = getattr(block, "thinking", None)
        if isinstance(text, str):  # redacted blocks carry no text
            texts.append(text)
    return "".join(texts)


def finish_reason_of(chunk: Any) -> str | None:
    try:
        value = chunk.choices[0].finish_reason
    except (AttributeError, IndexError):
        return None
    return value if isinstance(value, str) else None


def has_content(chunk: Any) -> bool:
    """Whether the chunk carries anything the model produced (text, reasoning or a tool
    call): the end of the part of a stream that may still be retried."""
    delta = _delta(chunk)
    return bool(delta_of(chunk) or reasoning_of(chunk) or getattr(delta, "tool_calls", None))


class ToolCallParts:
    """Tool calls arrive in fragments (an index, then pieces of name and arguments)."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}

    def add(self, chunk: Any) -> None:
        for part in getattr(_delta(chunk), "tool_calls", None) or []:
            index = getattr(part, "index", None) or 0
            call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if getattr(part, "id", None):
                call["id"] = part.id
            function = getattr(part, "function", None)
            if function is not None:
                call["name"] += getattr(function, "name", None) or ""
                call["arguments"] += getattr(function, "arguments", None) or ""

    def calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
            for i, c in sorted(self._calls.items())
            if c["name"]
        )


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
        with typed_errors(call.model_id, call.secrets):
            response = await transport.complete(request.kwargs)
            chunks = transport.chunks(response)
            head: list[Any] = []
            async for chunk in chunks:
                head.append(chunk)
                if has_content(chunk):
                    break
            return response, head, chunks
    except LLMError:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # a failed attempt releases its response before the retry
        raise


def _split(pieces: tuple[str, str], parts: list[str], thoughts: list[str]) -> list[StreamEvent]:
    """A piece of content split by ThinkSplitter, as events (and kept in ``parts`` and
    ``thoughts``)."""
    text, thought = pieces
    events: list[StreamEvent] = []
    if thought:
        thoughts.append(thought)
        events.append(ReasoningDelta(thought))
    if text:
        parts.append(text)
        events.append(TextDelta(text))
    return events


async def _all(head: list[Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


async def stream(
    pipeline: Pipeline, prepare: Callable[[], Awaitable[ChatRequest]], transport: Transport
) -> AsyncIterator[str]:
    """The answer text only."""
    events = stream_events(pipeline, prepare, transport)
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                yield event.text
    finally:
        # Closing this generator (aclose, cancellation, GC) closes the event stream, which
        # records the call as partial.
        await events.aclose()


async def stream_events(
    pipeline: Pipeline, prepare: Callable[[], Awaitable[ChatRequest]], transport: Transport
) -> AsyncGenerator[StreamEvent, None]:
    """``prepare`` runs on the first iteration, so a refusal surfaces there."""
    request = await prepare()
    call = request.call
    recorder = pipeline.recorder
    parts: list[str] = []
    thoughts: list[str] = []
    tools = ToolCallParts()
    inline = ThinkSplitter()  # <think>…</think> in the text is reasoning, not the answer
    finish_reason: str | None = None
    usage: Any = None
    usage_chunk: Any = None
    opened: AsyncIterator[Any] | None = None
    told_complete = False

    def received() -> str:
        # Reasoning tokens are paid for like answer tokens: estimates count them too.
        return "".join(thoughts) + "".join(parts)

    try:
        try:
            response, head, rest = await pipeline.retry.run(lambda: _open(request, transport))
            opened = rest
        except LLMError as err:
            await recorder.finish(call, "error", error_kind=err.kind)
            raise
        try:
            with typed_errors(call.model_id, call.secrets):
                async for chunk in _all(head, rest):
                    chunk_usage = getattr(chunk, "usage", None)
                    if chunk_usage is not None and tokens_of(chunk_usage, "prompt_tokens"):
                        usage, usage_chunk = chunk_usage, chunk
                    finish_reason = finish_reason_of(chunk) or finish_reason
                    tools.add(chunk)
                    if call.ttft_ms is None and has_content(chunk):
                        call.ttft_ms = call.elapsed_ms()
                    thought = reasoning_of(chunk)
                    if thought:
                        thoughts.append(thought)
                        yield ReasoningDelta(thought)
                    for event in _split(inline.feed(delta_of(chunk)), parts, thoughts):
                        yield event
                    if finish_reason is not None and not told_complete and not tools.calls():
                        # The model is done writing; the vendor's usage and litellm's own
                        # end-of-stream work (a worker-thread hop, tens of ms under load)
                        # still come before StreamFinished.
                        told_complete = True
                        for event in _split(inline.flush(), parts, thoughts):
                            yield event
                        yield TextComplete("".join(parts), "".join(thoughts), finish_reason)
                for event in _split(inline.flush(), parts, thoughts):
                    yield event
        except LLMError as broke:
            if not parts and not thoughts:
                await recorder.finish(call, "error", error_kind=broke.kind)
                raise broke from None
            await recorder.finish(
                call,
                "partial",
                error_kind=StreamInterrupted.kind,
                usage=usage,
                received=received(),
            )
            raise StreamInterrupted(
                f"The answer from {call.model_id} broke off: {broke}",
                model=call.model_id,
                partial_text="".join(parts),
            ) from None
        if usage is not None and not vendor_sent_usage(response):
            usage = usage_chunk = None
        await recorder.finish(call, "ok", usage=usage, response=usage_chunk, received=received())
        yield StreamFinished(
            text="".join(parts),
            reasoning="".join(thoughts),
            finish_reason=finish_reason,
            tool_calls=tools.calls(),
            usage=call.event,
        )
    finally:
        aclose = getattr(opened, "aclose", None)
        if aclose is not None:
            await aclose()  # the transport releases the response, whoever stopped reading
        if not call.finished:
            # The consumer stopped reading (aclose, cancellation, or asyncio's GC
            # finalizer, which also goes through aclose): a partial answer, even before
            # the first token (the prompt was sent, and is charged by estimate). Awaiting
            # is allowed here; only yielding is not.
            await recorder.finish(
                call,
                "partial",
                error_kind=CANCELLED,
                usage=usage,
                received=received(),
            )
