"""The tool loop: the model asks for tools, they run (in parallel within a round), their
results go back, until the model answers or the rounds run out.

Each round is an ordinary chat call through the shared pipeline, so each one is admitted,
reserves its budget before it is sent, and records one usage event. After
``max_rounds`` rounds that ran tools, one last round is sent with ``tool_choice="none"``
so the model answers from what it has.

Models that litellm's map says cannot call functions get the question without the tools
(one plain round) and the last ``StreamFinished`` says so in ``extra["tools_left_out"]``.
The last ``StreamFinished`` of a loop also carries, in ``extra``: ``messages`` (the
assistant tool calls and tool results in litellm's format, to keep in a conversation),
``sources`` (numbered, cited by the answer) and ``rounds``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.request import ChatRequest, prepare_chat, resolve_name
from llmdoor.calls.transport import Transport
from llmdoor.chat import completion, streaming
from llmdoor.chat.think import split_think
from llmdoor.events import StreamEvent, StreamFinished, TextDelta, ToolCall
from llmdoor.messages import ChatMessage
from llmdoor.models import catalog
from llmdoor.options import OwnOptions, split_options
from llmdoor.tools.base import as_tool
from llmdoor.tools.calls import LoopConfig, SourceBook, calls_allowed, run_calls

log = logging.getLogger("llmdoor.tools")


def supports_tools(model_id: str) -> bool:
    """litellm's capability map; a model it has no row for gets the benefit of the doubt
    (a custom or gateway model), like vision."""
    entry = catalog.map_entry(model_id)
    if not entry or entry.get("supports_function_calling") is None:
        return True
    return bool(entry.get("supports_function_calling"))


def assistant_message(finished: StreamFinished) -> ChatMessage:
    return {
        "role": "assistant",
        "content": finished.text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in finished.tool_calls
        ],
    }


async def _whole_round(
    pipeline: Pipeline, request: ChatRequest, transport: Transport
) -> AsyncIterator[StreamEvent]:
    """A non-streamed round as events: the text at once, then StreamFinished."""
    response = await completion.complete(pipeline, request, transport, completion.raw)
    try:
        message = response.choices[0].message
        finish_reason = response.choices[0].finish_reason
    except (AttributeError, IndexError):
        message, finish_reason = None, None
    text, reasoning = split_think(getattr(message, "content", None) or "")
    calls = tuple(
        ToolCall(id=c.id or f"call_{i}", name=c.function.name, arguments=c.function.arguments)
        for i, c in enumerate(getattr(message, "tool_calls", None) or [])
    )
    if text:
        yield TextDelta(text)
    yield StreamFinished(
        text=text,
        reasoning=reasoning,
        finish_reason=finish_reason,
        tool_calls=calls,
        usage=request.call.event,
        extra={"response": response},
    )


async def tool_loop(
    pipeline: Pipeline,
    prompt: str,
    model: str | None,
    own: OwnOptions,
    passthrough: dict[str, Any],
    config: LoopConfig,
    transport: Transport,
    *,
    stream: bool,
) -> AsyncGenerator[StreamEvent, None]:
    own = dict(own)  # type: ignore[assignment]
    model_id = await resolve_name(model or pipeline.settings.default_model, pipeline.settings)
    supported = supports_tools(model_id)
    if not supported:
        log.info("tools left out: %s does not support function calling", model_id)
        # Earlier tool calls and results in the history would be refused without tools;
        # the answers that followed them carry what they found.
        history = own.get("chat_history") or ()
        own["chat_history"] = [
            m for m in history if m.get("role") != "tool" and not m.get("tool_calls")
        ]
    config = replace(config, token_model=model_id)  # results are cut in its tokens
    schemas = [t.schema() for t in config.tools]
    added: list[ChatMessage] = []
    book = SourceBook()
    rounds = 0
    made = 0  # tool calls run for this answer
    while True:
        rounds += 1
        # Out of rounds, or out of calls for this answer: the model answers now.
        last = not supported or rounds > config.max_rounds or made >= config.max_calls_per_answer
        kwargs = dict(passthrough)
        if supported:
            kwargs["tools"] = schemas
            if last:
                kwargs["tool_choice"] = "none"  # the model answers from what it has
        else:
            kwargs.pop("tools", None)

        async def prepare(kwargs: dict[str, Any] = kwargs) -> ChatRequest:
            request = await prepare_chat(
                pipeline, prompt, model, own, kwargs, stream=stream, extra_messages=added
            )
            # The caller is resolved once; later rounds reuse it instead of asking again.
            own["caller"] = request.call.caller
            return request

        if stream:
            events: AsyncIterator[StreamEvent] = streaming.stream_events(
                pipeline, prepare, transport
            )
        else:
            events = _whole_round(pipeline, await prepare(), transport)
        finished: StreamFinished | None = None
        async for event in events:
            if isinstance(event, StreamFinished):
                finished = event
            else:
                yield event
        assert finished is not None  # every round that does not raise ends with one
        if last or not finished.tool_calls:
            extra = dict(finished.extra)
            extra.update(messages=list(added), sources=list(book.sources), rounds=rounds)
            if not supported:
                extra["tools_left_out"] = True
            if last and supported and finished.tool_calls:
                log.warning("tool loop capped after %s rounds, %s calls", rounds - 1, made)
                extra["capped"] = True
            yield replace(finished, tool_calls=() if last else finished.tool_calls, extra=extra)
            return
        yield finished
        added.append(assistant_message(finished))
        async for item in run_calls(finished.tool_calls, config, book, made=made):
            if isinstance(item, tuple):
                call, outcome = item
                added.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "name": call.name,
                        "content": outcome.content,
                    }
                )
            else:
                yield item
        made += min(len(finished.tool_calls), calls_allowed(config, made))


def config_of(tools: Sequence[Any], own: OwnOptions, pipeline: Pipeline) -> LoopConfig:
    settings = pipeline.settings
    rounds = own.get("max_tool_rounds")
    timeout = own.get("tool_timeout")
    result_tokens = own.get("tool_result_limit")
    per_round = own.get("max_tool_calls_per_round")
    per_answer = own.get("max_tool_calls_per_answer")
    return LoopConfig(
        tools=tuple(as_tool(t) for t in tools),
        max_rounds=settings.tool_max_rounds if rounds is None else rounds,
        timeout=settings.tool_timeout if timeout is None else timeout,
        result_tokens=settings.tool_result_limit if result_tokens is None else result_tokens,
        max_calls_per_round=settings.tool_max_calls_per_round if per_round is None else per_round,
        max_calls_per_answer=(
            settings.tool_max_calls_per_answer if per_answer is None else per_answer
        ),
    )


def tool_events(
    pipeline: Pipeline,
    prompt: str,
    model: str | None,
    options: Mapping[str, Any],
    transport: Transport,
    *,
    stream: bool,
) -> AsyncGenerator[StreamEvent, None]:
    """The loop for a query's keyword options (``tools=`` holds Tools or functions)."""
    own, passthrough = split_options(options)
    tools = passthrough.pop("tools", None) or ()
    config = config_of(tools, own, pipeline)
    return tool_loop(pipeline, prompt, model, own, passthrough, config, transport, stream=stream)


async def last_round(events: AsyncIterator[StreamEvent]) -> StreamFinished:
    """Run a loop to its end (non-streamed use) and return its last StreamFinished."""
    finished: StreamFinished | None = None
    async for event in events:
        if isinstance(event, StreamFinished):
            finished = event
    assert finished is not None
    return finished


async def text_only(events: AsyncGenerator[StreamEvent, None]) -> AsyncIterator[str]:
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                yield event.text
    finally:
        await events.aclose()
