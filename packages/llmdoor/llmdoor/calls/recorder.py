"""The end of every model call: one usage event and one budget settlement, exactly once,
whatever happened (success, error, retries given up, cancellation, a consumer that stopped
reading, a stream that broke).

When the vendor reported usage, tokens and cost are real. When it did not although tokens
may have been spent (a broken stream, a stream without a usage chunk, a cancelled call),
they are estimated from the tokenizer count of the prompt and of the text received:
never zero for a priced model. A call that failed before producing anything costs 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from llmdoor.access import Caller
from llmdoor.budget import BudgetHold
from llmdoor.calls.error_mapping import redact
from llmdoor.models import pricing
from llmdoor.runtime import tolerating
from llmdoor.usage import CallKind, Outcome, UsageEvent, UsageSink

log = logging.getLogger("llmdoor")

CANCELLED = "cancelled"  # error_kind of a call its caller gave up on


@dataclass
class Call:
    """One model call from its budget reservation to its settlement."""

    caller: Caller
    model_id: str
    shortcut: str | None
    hold: BudgetHold
    reserved_usd: float | None
    # Tokenizer counts for estimates: of what was sent, and of a text received.
    count_prompt: Callable[[], int]
    count_output: Callable[[str], int]
    rate: pricing.Rate | None = None  # None: unpriced
    secrets: tuple[str | None, ...] = ()
    streamed: bool = False
    kind: CallKind = CallKind.CHAT
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    ttft_ms: float | None = None
    finished: bool = False
    event: UsageEvent | None = None  # the usage event, once the call has finished
    observer: Callable[[UsageEvent], None] | None = None  # the query's ``on_usage``

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


@dataclass(frozen=True)
class Charge:
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # what the usage event shows
    settle_usd: float | None  # what the budget is charged
    estimated: bool = False


def charge_of(
    call: Call, outcome: Outcome, error_kind: str | None, usage: Any, response: Any, received: str
) -> Charge:
    rate = call.rate
    prompt = pricing.tokens_of(usage, "prompt_tokens")
    completion = pricing.tokens_of(usage, "completion_tokens")
    if prompt or completion:
        cost = rate.cost(call.model_id, prompt, completion, response) if rate else None
        return Charge(prompt, completion, cost, cost)
    if outcome == "error" and error_kind != CANCELLED and not received:
        # Refused before any token (an HTTP error, retries given up): nothing was billed.
        zero = 0.0 if rate is not None else None
        return Charge(0, 0, zero, 0.0)
    with tolerating() as counting:  # litellm's tokenizers
        prompt, completion = call.count_prompt(), call.count_output(received)
    if counting.error is not None:  # a tokenizer fault must not lose the charge
        kind = type(counting.error).__name__
        log.warning("usage estimate failed (%s); charging the reservation", kind)
        return Charge(0, 0, call.reserved_usd, call.reserved_usd, estimated=True)
    cost = rate.price(prompt, completion) if rate else None
    return Charge(prompt, completion, cost, cost, estimated=True)


@contextlib.contextmanager
def _callers_code(what: str, *, detail: bool = True) -> Iterator[None]:
    """A step of the bookkeeping that runs the caller's code (its ``on_usage`` hook, its
    budget guard, its usage sink), which may raise anything: the failure is logged (with
    its text, redacted, when ``detail``) and the rest of the bookkeeping goes on."""
    try:
        yield
    except Exception as exc:  # the caller's hook, budget guard and usage sink raise anything
        text = f": {redact(str(exc))}" if detail else ""
        log.error("%s failed (%s)%s", what, type(exc).__name__, text)


class UsageRecorder:
    def __init__(self, sink: UsageSink) -> None:
        self.sink = sink
        self._background: set[asyncio.Task[None]] = set()

    def event(
        self, call: Call, outcome: Outcome, error_kind: str | None, charge: Charge
    ) -> UsageEvent:
        return UsageEvent(
            user_id=call.caller.user_id,
            model=call.model_id,
            shortcut=call.shortcut,
            prompt_tokens=charge.prompt_tokens,
            completion_tokens=charge.completion_tokens,
            cost_usd=charge.cost_usd,
            cost_estimated=charge.estimated,
            cost_fallback=call.rate is not None
            and call.rate.fallback
            and charge.cost_usd is not None,
            latency_ms=call.elapsed_ms(),
            ttft_ms=call.ttft_ms,
            outcome=outcome,
            error_kind=error_kind,
            streamed=call.streamed,
            attempts=call.attempts,
            kind=call.kind,
        )

    def _begin(
        self,
        call: Call,
        outcome: Outcome,
        error_kind: str | None,
        usage: Any,
        response: Any,
        received: str,
        charge: Charge | None = None,
    ) -> asyncio.Task[None] | None:
        if call.finished:
            return None
        call.finished = True
        if charge is None:
            charge = charge_of(call, outcome, error_kind, usage, response, received)
        event = call.event = self.event(call, outcome, error_kind, charge)
        if call.observer is not None:
            # The caller's hook must not lose the bookkeeping.
            with _callers_code("on_usage hook", detail=False):
                call.observer(event)
        # A task of its own: a cancellation of the caller must not cut the bookkeeping short.
        task = asyncio.get_running_loop().create_task(self._close(call, event, charge))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def finish(
        self,
        call: Call,
        outcome: Outcome,
        *,
        error_kind: str | None = None,
        usage: Any = None,
        response: Any = None,
        received: str = "",
        charge: Charge | None = None,
    ) -> None:
        """Record and settle (once), and wait for it unless the caller is cancelled again.
        ``charge``: what the call cost when the modality prices it itself (audio seconds,
        characters, images); None: from token usage, as for chat."""
        task = self._begin(call, outcome, error_kind, usage, response, received, charge)
        if task is not None:
            await asyncio.shield(task)

    def finish_soon(
        self,
        call: Call,
        outcome: Outcome,
        *,
        error_kind: str | None = None,
        received: str = "",
        charge: Charge | None = None,
    ) -> None:
        """Record and settle (once) without delaying the caller's cancellation."""
        try:
            self._begin(call, outcome, error_kind, None, None, received, charge)
        except RuntimeError:  # no running loop: nowhere left to run the bookkeeping
            log.warning("usage event dropped: no running loop to record it on")

    async def _close(self, call: Call, event: UsageEvent, charge: Charge) -> None:
        # The guard owns its retries; the user's call must not fail for bookkeeping.
        with _callers_code("budget settle"):
            await call.hold.settle(charge.settle_usd)
        await self.deliver(event)

    async def deliver(self, event: UsageEvent) -> None:
        # The user's answer matters more than the bookkeeping; the sink owns retries.
        with _callers_code("usage sink"):
            await self.sink.record(event)
