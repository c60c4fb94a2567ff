"""LLMProvider: access check -> budget check -> litellm call with retries -> usage event."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from app.llm import catalog
from app.llm._litellm import _litellm, ensure_loaded
from app.llm._mapping import map_exception, redact
from app.llm._sync import Transport, iterate_sync, run_sync, transport
from app.llm.access import AccessPolicy, AccessSettings
from app.llm.errors import (
    LLMError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    StructuredOutputError,
    VisionNotSupported,
)
from app.llm.history import fit_history
from app.llm.messages import Attachment, ChatMessage, build_messages
from app.llm.settings import LLMSettings
from app.llm.shortcuts import resolve_model, shortcut_for
from app.llm.usage import InMemoryUsageSink, Outcome, UsageEvent, UsageSink

log = logging.getLogger("app.llm")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@runtime_checkable
class BudgetPolicy(Protocol):
    """Raises BudgetExceeded when the user may not spend more (admins: the policy decides)."""

    async def check(self, user_id: int) -> None: ...


@dataclass
class _Call:
    """One prepared request: everything decided before the first byte goes out."""

    model_id: str
    shortcut: str | None
    user_id: int | None
    kwargs: dict[str, Any]
    secrets: tuple[str | None, ...]
    sync_transport: Transport | None = None  # None: async client
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class LLMProvider:
    """Holds settings and policies; every query_* function is a method here.

    Gatekeeping (access, model resolution, vision, budget) happens before the model is
    called and records no usage event: nothing was spent. From the first request on, each
    call records exactly one event, whatever its outcome and however many retries.
    """

    def __init__(
        self,
        settings: LLMSettings | None = None,
        *,
        access: AccessPolicy | None = None,
        budget: BudgetPolicy | None = None,
        usage_sink: UsageSink | None = None,
    ) -> None:
        self.settings = settings if settings is not None else LLMSettings()
        self.access = access
        self.budget = budget
        self.usage_sink: UsageSink = usage_sink if usage_sink is not None else InMemoryUsageSink()
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def from_env(cls, **overrides: Any) -> LLMProvider:
        """Settings from LLM_* env and the access rules from ACCESS_* env, the same ones the
        bot applies: pass user_id=, or set ACCESS_SINGLE_USER_MODE=true for scripts that
        run as the owner. (Approved users live in the bot's storage; build an LLMProvider
        with AccessPolicy(..., is_approved=...) to honour them too.)"""
        overrides.setdefault("access", AccessPolicy(AccessSettings()))
        return cls(LLMSettings(), **overrides)

    # ---- catalog ---------------------------------------------------------------------

    def resolve_model(self, name: str | None = None) -> str:
        return resolve_model(name or self.settings.default_model, self.settings.shortcuts)

    def list_models(self, available_only: bool = True) -> list[catalog.ModelInfo]:
        return catalog.list_models(
            available_only,
            shortcuts=self.settings.shortcuts,
            all_available=self.settings.api_key is not None,
        )

    def supports_vision(self, model: str | None = None) -> bool:
        return bool(catalog.vision_flag(self.resolve_model(model)))

    def model_context_window(self, model: str | None = None) -> int | None:
        return catalog.model_context_window(self.resolve_model(model))

    def fit_history(
        self,
        model: str | None,
        system_message: str | None,
        history: Sequence[ChatMessage],
        prompt: str,
        reserve_tokens: int = 1024,
    ) -> list[ChatMessage]:
        return fit_history(
            self.resolve_model(model),
            system_message,
            history,
            prompt,
            reserve_tokens,
            self.settings.default_context_window,
        )

    # ---- async API -------------------------------------------------------------------

    async def aquery_llm_raw(
        self,
        prompt: str,
        model: str | None = None,
        *,
        system_message: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        attachments: Sequence[Attachment] | None = None,
        user_id: int | None = None,
        username: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the HTTP timeout litellm applies
        **litellm_kwargs: Any,
    ) -> Any:
        """The full litellm ModelResponse."""
        call = await self._prepare(
            prompt, model, system_message, chat_history, attachments, user_id, username,
            temperature, max_tokens, timeout, litellm_kwargs, stream=False,
        )  # fmt: skip
        return await self._run(call, lambda response: response)

    async def aquery_llm(
        self,
        prompt: str,
        model: str | None = None,
        *,
        system_message: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        attachments: Sequence[Attachment] | None = None,
        user_id: int | None = None,
        username: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the HTTP timeout litellm applies
        **litellm_kwargs: Any,
    ) -> str:
        """The reply text."""
        call = await self._prepare(
            prompt, model, system_message, chat_history, attachments, user_id, username,
            temperature, max_tokens, timeout, litellm_kwargs, stream=False,
        )  # fmt: skip
        return await self._run(call, _text_of)

    aquery_llm_text = aquery_llm

    async def aquery_llm_structured(
        self,
        prompt: str,
        output_schema: type[M],
        model: str | None = None,
        *,
        system_message: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        attachments: Sequence[Attachment] | None = None,
        user_id: int | None = None,
        username: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the HTTP timeout litellm applies
        **litellm_kwargs: Any,
    ) -> M:
        """An instance of `output_schema`; StructuredOutputError if the reply does not fit."""
        schema_hint = "Reply with only a JSON object that matches this JSON schema:\n" + json.dumps(
            output_schema.model_json_schema()
        )
        system = f"{system_message}\n\n{schema_hint}" if system_message else schema_hint
        litellm_kwargs.setdefault("response_format", output_schema)
        call = await self._prepare(
            prompt, model, system, chat_history, attachments, user_id, username,
            temperature, max_tokens, timeout, litellm_kwargs, stream=False,
        )  # fmt: skip

        def parse(response: Any) -> M:
            return _parse_structured(_text_of(response), output_schema, call.model_id)

        return await self._run(call, parse)

    async def aquery_llm_stream(
        self,
        prompt: str,
        model: str | None = None,
        *,
        system_message: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        attachments: Sequence[Attachment] | None = None,
        user_id: int | None = None,
        username: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the HTTP timeout litellm applies
        **litellm_kwargs: Any,
    ) -> AsyncIterator[str]:
        """Text chunks as they arrive. Retries only before the first chunk; a break after
        that raises StreamInterrupted carrying the text so far."""
        call = await self._prepare(
            prompt, model, system_message, chat_history, attachments, user_id, username,
            temperature, max_tokens, timeout, litellm_kwargs, stream=True,
        )  # fmt: skip
        parts: list[str] = []
        ttft: float | None = None
        usage: Any = None
        usage_chunk: Any = None
        recorded = False
        try:
            while True:
                call.attempts += 1
                try:
                    response = await self._send(call)
                    async for chunk in _chunks(response, call.sync_transport):
                        chunk_usage = getattr(chunk, "usage", None)
                        if chunk_usage is not None and _tokens(chunk_usage, "prompt_tokens"):
                            usage, usage_chunk = chunk_usage, chunk
                        delta = _delta_of(chunk)
                        if delta:
                            if ttft is None:
                                ttft = call.elapsed_ms()
                            parts.append(delta)
                            yield delta
                    break
                except Exception as exc:
                    err = map_exception(exc, call.model_id, call.secrets)
                    if parts:
                        recorded = True
                        await self._record(
                            call, "partial", usage, StreamInterrupted.kind, ttft, streamed=True
                        )
                        raise StreamInterrupted(
                            f"The answer from {call.model_id} broke off: {err}",
                            model=call.model_id,
                            partial_text="".join(parts),
                        ) from None
                    if self._should_retry(err, call.attempts):
                        await asyncio.sleep(self._delay(err, call.attempts))
                        continue
                    recorded = True
                    await self._record(call, "error", None, err.kind, None, streamed=True)
                    raise err from None
            recorded = True
            await self._record(call, "ok", usage, None, ttft, streamed=True, response=usage_chunk)
        finally:
            if not recorded:
                # The consumer stopped reading (aclose, cancellation, or asyncio's GC
                # finalizer, which also goes through aclose): what was delivered is a
                # partial answer. Awaiting is allowed here; only yielding is not.
                outcome: Outcome = "partial" if parts else "error"
                await self._record(call, outcome, usage, "cancelled", ttft, streamed=True)

    # ---- sync twins ------------------------------------------------------------------

    # The sync twins run the same async pipeline (policies and sinks are async) but send
    # the request with litellm's *sync* client: litellm keeps one global logging worker
    # bound to one event loop, and driving its async client from a second loop makes that
    # worker hop loops (and lose log tasks) whenever sync and async calls are mixed.

    def query_llm(self, prompt: str, model: str | None = None, **kwargs: Any) -> str:
        mode = transport()
        return run_sync(self.aquery_llm(prompt, model, **kwargs, **_sync(mode)), mode)

    query_llm_text = query_llm

    def query_llm_raw(self, prompt: str, model: str | None = None, **kwargs: Any) -> Any:
        mode = transport()
        return run_sync(self.aquery_llm_raw(prompt, model, **kwargs, **_sync(mode)), mode)

    def query_llm_structured(
        self, prompt: str, output_schema: type[M], model: str | None = None, **kwargs: Any
    ) -> M:
        mode = transport()
        coro = self.aquery_llm_structured(prompt, output_schema, model, **kwargs, **_sync(mode))
        return run_sync(coro, mode)

    def query_llm_stream(
        self, prompt: str, model: str | None = None, **kwargs: Any
    ) -> Iterator[str]:
        mode = transport()
        return iterate_sync(self.aquery_llm_stream(prompt, model, **kwargs, **_sync(mode)), mode)

    # ---- internals -------------------------------------------------------------------

    async def _prepare(
        self,
        prompt: str,
        model: str | None,
        system_message: str | None,
        chat_history: Sequence[ChatMessage] | None,
        attachments: Sequence[Attachment] | None,
        user_id: int | None,
        username: str | None,
        temperature: float | None,
        max_tokens: int | None,
        timeout: float | None,  # noqa: ASYNC109
        extra: dict[str, Any],
        *,
        stream: bool,
    ) -> _Call:
        sync_transport: Transport | None = extra.pop(_SYNC_FLAG, None)
        await ensure_loaded()
        if self.access is not None:
            await self.access.check(user_id, username)
        name = model or self.settings.default_model
        model_id = self.resolve_model(name)
        if attachments and catalog.vision_flag(model_id) is False:
            # Only refuse when litellm positively knows; custom models get the benefit of
            # the doubt and the provider's own error if they cannot see.
            raise VisionNotSupported(f"{name} cannot read images.", model=model_id)
        if self.budget is not None and user_id is not None:
            await self.budget.check(user_id)

        kwargs: dict[str, Any] = {
            "model": model_id,
            "messages": build_messages(prompt, system_message, chat_history, attachments),
            "timeout": timeout if timeout is not None else self.settings.timeout,
            # Our retry loop is the only one: litellm's and the OpenAI SDK's are off.
            "num_retries": 0,
            "max_retries": 0,
            # Parameters a model rejects (e.g. temperature on reasoning models) are
            # dropped rather than failing the user's message.
            "drop_params": True,
        }
        if temperature is not None:
            kwargs["temperature"] = temperature
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if self.settings.api_base and "api_base" not in extra and "base_url" not in extra:
            kwargs["api_base"] = self.settings.api_base
        if self.settings.api_key is not None and "api_key" not in extra:
            kwargs["api_key"] = self.settings.api_key.get_secret_value()
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        kwargs.update(extra)
        shortcut = name.lower() if name.lower() != model_id else shortcut_for(model_id)
        return _Call(
            model_id=model_id,
            shortcut=shortcut,
            user_id=user_id,
            kwargs=kwargs,
            secrets=(kwargs.get("api_key"),),
            sync_transport=sync_transport,
        )

    async def _send(self, call: _Call) -> Any:
        lit = _litellm()
        if call.sync_transport == "direct":
            # Our private per-thread loop: blocking it blocks nobody else.
            return lit.completion(**call.kwargs)
        if call.sync_transport == "thread":
            return await asyncio.to_thread(lit.completion, **call.kwargs)
        return await lit.acompletion(**call.kwargs)

    async def _run(self, call: _Call, parse: Callable[[Any], T]) -> T:
        while True:
            call.attempts += 1
            try:
                response = await self._send(call)
                break
            except Exception as exc:
                err = map_exception(exc, call.model_id, call.secrets)
                if self._should_retry(err, call.attempts):
                    await asyncio.sleep(self._delay(err, call.attempts))
                    continue
                await self._record(call, "error", None, err.kind, None)
                raise err from None
            except asyncio.CancelledError:
                self._record_later(call, "error", "cancelled")
                raise
        usage = getattr(response, "usage", None)
        try:
            result = parse(response)
        except LLMError as err:
            await self._record(call, "error", usage, err.kind, None, response=response)
            raise
        await self._record(call, "ok", usage, None, None, response=response)
        return result

    def _should_retry(self, err: LLMError, attempts: int) -> bool:
        if not isinstance(err, RateLimited | ProviderUnavailable):
            return False
        if attempts > self.settings.max_retries:
            return False
        # A provider asking for a longer pause than we are willing to hold a user for:
        # fail now and let the caller show "try again in N s".
        return not (
            isinstance(err, RateLimited)
            and err.retry_after is not None
            and err.retry_after > self.settings.retry_after_cap
        )

    def _delay(self, err: LLMError, attempts: int) -> float:
        s = self.settings
        backoff = min(s.backoff_max, s.backoff_initial * 2 ** (attempts - 1))
        backoff *= random.uniform(0.8, 1.2)  # jitter so concurrent callers do not stampede
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return max(backoff, min(err.retry_after, s.retry_after_cap))
        return backoff

    def _event(
        self,
        call: _Call,
        outcome: Outcome,
        usage: Any,
        error_kind: str | None,
        ttft_ms: float | None,
        *,
        streamed: bool = False,
        response: Any = None,
    ) -> UsageEvent:
        prompt_tokens = _tokens(usage, "prompt_tokens")
        completion_tokens = _tokens(usage, "completion_tokens")
        return UsageEvent(
            user_id=call.user_id,
            model=call.model_id,
            shortcut=call.shortcut,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=(
                # A broken stream seldom reports usage: the tokens were spent but are
                # unknown, so the cost is unknown too, not zero.
                None
                if outcome == "partial" and usage is None
                else _cost(call.model_id, prompt_tokens, completion_tokens, response)
            ),
            latency_ms=call.elapsed_ms(),
            ttft_ms=ttft_ms,
            outcome=outcome,
            error_kind=error_kind,
            streamed=streamed,
            attempts=call.attempts,
        )

    async def _record(
        self,
        call: _Call,
        outcome: Outcome,
        usage: Any,
        error_kind: str | None,
        ttft_ms: float | None,
        *,
        streamed: bool = False,
        response: Any = None,
    ) -> None:
        event = self._event(
            call, outcome, usage, error_kind, ttft_ms, streamed=streamed, response=response
        )
        await self._deliver(event)

    async def _deliver(self, event: UsageEvent) -> None:
        try:
            await self.usage_sink.record(event)
        except Exception as exc:
            # The user's answer matters more than the bookkeeping; the sink owns retries.
            log.error("usage sink failed (%s): %s", type(exc).__name__, redact(str(exc)))

    def _record_later(self, call: _Call, outcome: Outcome, error_kind: str) -> None:
        """Record from a cancelled task without delaying the cancellation."""
        event = self._event(call, outcome, None, error_kind, None)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("usage event dropped: no running loop to record it on")
            return
        task = loop.create_task(self._deliver(event))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_SYNC_FLAG = "_app_llm_sync_transport"
_END = object()


def _sync(mode: Transport) -> dict[str, Any]:
    return {_SYNC_FLAG: mode}


async def _chunks(response: Any, sync_transport: Transport | None) -> AsyncIterator[Any]:
    """Iterate litellm's async stream, or its sync stream (off-loop when shared)."""
    if sync_transport is None:
        async for chunk in response:
            yield chunk
        return
    iterator = iter(response)
    if sync_transport == "direct":
        for chunk in iterator:
            yield chunk
        return
    while (chunk := await asyncio.to_thread(next, iterator, _END)) is not _END:
        yield chunk


def _tokens(usage: Any, name: str) -> int:
    value: Any = getattr(usage, name, None) if usage is not None else None
    return int(value) if isinstance(value, int | float) else 0


def _text_of(response: Any) -> str:
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError):
        return ""


def _delta_of(chunk: Any) -> str:
    try:
        return chunk.choices[0].delta.content or ""
    except (AttributeError, IndexError):
        return ""


def _parse_structured(text: str, schema: type[M], model_id: str) -> M:
    fenced = _FENCE.match(text)
    payload = fenced.group(1) if fenced else text.strip()
    try:
        return schema.model_validate_json(payload)
    except ValidationError as exc:
        problems = exc.errors()
        where = ".".join(str(p) for p in problems[0]["loc"]) if problems else ""
        reason = problems[0]["msg"] if problems else "invalid"
        raise StructuredOutputError(
            f"{model_id} replied with something that is not a valid {schema.__name__} "
            f"({where or 'reply'}: {reason}).",
            model=model_id,
            raw=text,
        ) from None


def _reported_cost(obj: Any) -> float | None:
    """The cost litellm already computed for a response or final stream chunk."""
    hidden = getattr(obj, "_hidden_params", None)
    value = hidden.get("response_cost") if isinstance(hidden, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _cost(model_id: str, prompt_tokens: int, completion_tokens: int, response: Any) -> float | None:
    """USD from litellm's map, or None when the map has no price (never an estimate)."""
    if catalog.map_entry(model_id) is None:
        return None
    # litellm prices every response it returns (cache and tier aware); reusing that
    # figure saves ~0.3 ms per call over pricing it again.
    reported = _reported_cost(response) if response is not None else None
    if reported is not None:
        return reported
    if not prompt_tokens and not completion_tokens:
        return 0.0  # nothing was billed (the call failed before any token)
    lit = _litellm()
    try:
        prompt_cost, completion_cost = lit.cost_per_token(
            model=model_id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:
        return None
    return float(prompt_cost) + float(completion_cost)


# ---- the process-wide default --------------------------------------------------------

_default_lock = threading.Lock()
_default: LLMProvider | None = None


def get_default_provider() -> LLMProvider:
    """The provider the module-level query_* functions use, built from env on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = LLMProvider.from_env()
    return _default


def set_default_provider(provider: LLMProvider | None) -> None:
    """Install the bot's provider (with its sink and policies); None rebuilds from env."""
    global _default
    with _default_lock:
        _default = provider
