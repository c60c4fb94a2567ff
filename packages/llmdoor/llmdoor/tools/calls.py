"""Running the tool calls of one round: all at once, each bounded by its timeout, every
failure turned into a result the model reads; and the numbering of the sources they found
(one numbering per answer, so [n] means the same page in every round)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmdoor.events import StreamEvent, ToolCall, ToolFinished, ToolStarted
from llmdoor.media.documents import cut_to_tokens
from llmdoor.tools.base import Source, Tool, ToolArgumentsError, render_result

log = logging.getLogger("llmdoor.tools")

SUMMARY_CHARS = 120


@dataclass
class SourceBook:
    """One numbering of sources per answer: a page found twice keeps its first number."""

    sources: list[Source] = field(default_factory=list)

    def number(self, source: Source) -> int:
        for index, known in enumerate(self.sources, 1):
            if known.url == source.url:
                return index
        self.sources.append(source)
        return len(self.sources)

    def render(self, content: str, sources: Sequence[Source]) -> str:
        if not sources:
            return content
        lines = []
        for source in sources:
            n = self.number(source)
            entry = f"[{n}] {source.title or source.url}\n{source.url}"
            if source.snippet:
                entry += f"\n{source.snippet}"
            lines.append(entry)
        head = "\n\n".join(lines)
        return f"{head}\n\n{content}" if content else head


_ENTRY = re.compile(r"^\[(\d{1,3})\] (.*)\n(https?://\S+)$", re.MULTILINE)


def sources_in(results: Iterable[str]) -> list[Source]:
    """The numbered sources of an answer read back from its tool results, as
    ``SourceBook.render`` wrote them (for a continuation that cites them again)."""
    found: dict[int, Source] = {}
    for content in results:
        for match in _ENTRY.finditer(content):
            number, title, url = int(match[1]), match[2], match[3]
            found.setdefault(number, Source(title if title != url else "", url))
    sources: list[Source] = []
    while len(sources) + 1 in found:  # [n] means the n-th: stop at a gap
        sources.append(found[len(sources) + 1])
    return sources


@dataclass(frozen=True)
class LoopConfig:
    tools: tuple[Tool, ...]
    max_rounds: int
    timeout: float  # per tool call, seconds
    result_tokens: int = 8000  # of one result, at most
    token_model: str = "gpt-4o"  # whose tokenizer counts them
    max_calls_per_round: int = 8
    max_calls_per_answer: int = 24


@dataclass
class _Outcome:
    content: str
    ok: bool
    summary: str
    sources: tuple[Source, ...] = ()


def _summary(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def parse_arguments(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def cut_result(text: str, max_tokens: int, model_id: str) -> str:
    """A tool result the model reads, at most ``max_tokens`` tokens, with a note when cut.
    Counting is skipped when the text has fewer bytes than the budget has tokens (a
    byte-level tokenizer never makes more tokens than bytes)."""
    if len(text.encode("utf-8", "replace")) <= max_tokens:
        return text
    kept, cut = cut_to_tokens(text, model_id, max_tokens)
    if not cut:
        return text
    return f"{kept}\n[…the tool's result was cut to its first {max_tokens} tokens]"


async def run_tool(
    tool: Tool | None,
    name: str,
    args: dict[str, Any] | None,
    limit: float,
    book: SourceBook,
    *,
    result_tokens: int | None = None,
    token_model: str = "gpt-4o",
) -> _Outcome:
    """One tool call, never raising: every failure becomes a result the model reads.
    ``limit`` bounds every call; a tool's own timeout can only make it shorter."""
    if tool is None:
        text = f"Error: there is no tool named {name!r} available."
        return _Outcome(text, False, "not available")
    if args is None:
        return _Outcome("Error: the arguments are not a JSON object.", False, "bad arguments")
    limit = min(tool.timeout, limit) if tool.timeout else limit
    try:
        result = await asyncio.wait_for(tool.run(args), limit)
    except TimeoutError:
        log.warning("tool %s timed out after %ss", name, limit)
        return _Outcome(f"Error: the tool timed out after {limit:g} s.", False, "timed out")
    except ToolArgumentsError as exc:
        return _Outcome(f"Error: bad arguments: {exc}", False, "bad arguments")
    except Exception as exc:  # a tool is foreign code: its failure is the model's to handle
        log.warning("tool %s failed: %s", name, type(exc).__name__)
        message = str(exc) or type(exc).__name__
        return _Outcome(f"Error: {type(exc).__name__}: {message}"[:2000], False, _summary(message))
    content, sources = render_result(result)
    if result_tokens is not None:
        content = await asyncio.to_thread(cut_result, content, result_tokens, token_model)
    summary = _summary(content) if content else f"{len(sources)} sources"
    return _Outcome(book.render(content, sources), True, summary, sources)


def calls_allowed(config: LoopConfig, made: int) -> int:
    """How many calls of the next round may run, ``made`` having run for this answer."""
    return max(0, min(config.max_calls_per_round, config.max_calls_per_answer - made))


def refused_by_limit(allowed: int, config: LoopConfig, made: int) -> _Outcome:
    """The result of a call over the per-round or per-answer limit (it never ran)."""
    if made + allowed >= config.max_calls_per_answer:
        limit = f"at most {config.max_calls_per_answer} tool calls per answer"
    else:
        limit = f"at most {config.max_calls_per_round} tool calls per round"
    text = (
        f"Error: refused by the limit ({limit}); this call was not run. "
        "Answer with what you have, or ask for fewer calls."
    )
    return _Outcome(text, False, "refused by the limit")


async def run_calls(
    calls: Sequence[ToolCall], config: LoopConfig, book: SourceBook, *, made: int = 0
) -> AsyncGenerator[StreamEvent | tuple[ToolCall, _Outcome], None]:
    """Start the calls of one round at once, as many as the limits allow (``made``: calls
    already run for this answer); ToolStarted for each, ToolFinished as each ends, and
    then the outcomes in call order, the refused ones saying the limit refused them."""
    by_name = {t.name: t for t in config.tools}
    allowed = calls_allowed(config, made)
    refused = {
        index: refused_by_limit(allowed, config, made) for index in range(allowed, len(calls))
    }
    if refused:
        log.warning(
            "tool calls refused by the limit: %d of %d this round", len(refused), len(calls)
        )
    parsed = [(call, parse_arguments(call.arguments)) for call in calls[:allowed]]
    for call, args in parsed:
        yield ToolStarted(call.id, call.name, args or {})

    async def one(index: int, call: ToolCall, args: dict[str, Any] | None) -> tuple[int, _Outcome]:
        outcome = await run_tool(
            by_name.get(call.name),
            call.name,
            args,
            config.timeout,
            book,
            result_tokens=config.result_tokens,
            token_model=config.token_model,
        )
        return index, outcome

    tasks = [asyncio.ensure_future(one(i, c, a)) for i, (c, a) in enumerate(parsed)]
    outcomes: dict[int, _Outcome] = dict(refused)
    try:
        for next_done in asyncio.as_completed(tasks):
            index, outcome = await next_done
            outcomes[index] = outcome
            call = calls[index]
            yield ToolFinished(call.id, call.name, outcome.ok, outcome.summary)
    finally:
        for task in tasks:
            task.cancel()  # the consumer stopped reading: nothing is left running
    for index, call in enumerate(calls):
        yield call, outcomes[index]
