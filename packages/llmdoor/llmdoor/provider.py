"""LLMProvider: the facade over the chat modules, sync and async.

Gatekeeping (access, model resolution, vision, budget reservation) happens before the
model is called and records no usage event: nothing was spent. From the first request on,
each call records exactly one event and settles its reservation once, whatever its
outcome and however many retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar, Unpack

from pydantic import BaseModel

from llmdoor.access import AccessPolicy, AccessSettings, CallerResolver
from llmdoor.budget import BudgetGuard
from llmdoor.calls.fast_stream import FAST
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.request import ChatRequest, prepare_chat
from llmdoor.calls.transport import ASYNC, Transport, sync_transport
from llmdoor.chat import completion, streaming, structured
from llmdoor.chat.history import fit_history
from llmdoor.events import StreamEvent
from llmdoor.media.provider import MediaMethods
from llmdoor.media.settings import MediaSettings
from llmdoor.messages import ChatMessage
from llmdoor.models import catalog, gateway
from llmdoor.models.shortcuts import resolve_model
from llmdoor.models.tokens import turn_tokens
from llmdoor.options import QueryOptions, split_options
from llmdoor.settings import LLMSettings
from llmdoor.tools.base import is_runnable
from llmdoor.tools.loop import last_round, text_only, tool_events
from llmdoor.usage import InMemoryUsageSink, UsageSink

__all__ = ["LLMProvider"]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class LLMProvider(MediaMethods):
    """Settings, the access authority, the budget guard and the usage sink, and every
    query_* function as a method; transcribe, speak, generate_image and read_document
    (sync and async) come from MediaMethods."""

    def __init__(
        self,
        settings: LLMSettings | None = None,
        *,
        access: CallerResolver | None = None,
        budget: BudgetGuard | None = None,
        usage_sink: UsageSink | None = None,
        media: MediaSettings | None = None,
    ) -> None:
        self.media = media if media is not None else MediaSettings()
        self.pipeline = Pipeline(
            settings if settings is not None else LLMSettings(),
            access,
            budget,
            usage_sink if usage_sink is not None else InMemoryUsageSink(),
        )

    @property
    def _streams(self) -> Transport:
        """The transport of async streams: OpenAI-compatible ones read directly unless
        LLM_FAST_STREAM=off."""
        return FAST if self.pipeline.settings.fast_stream == "auto" else ASYNC

    @classmethod
    def from_env(cls, *, env_file: str | None = ".env", **overrides: Any) -> LLMProvider:
        """Settings from LLM_* env and the access rules from ACCESS_* env, the same ones the
        bot applies: pass user_id=, or set ACCESS_SINGLE_USER_MODE=true for scripts that
        run as the owner. (Approved users live in the bot's storage; build an LLMProvider
        with AccessPolicy(..., is_approved=...) to honour them too.)

        ``env_file`` (relative to the working directory; None: none) fills in what the
        environment lacks, as the bot's start-up does: litellm reads the provider keys
        (OPENAI_API_KEY, ...) from ``os.environ`` only, so the file's variables are put
        there, never overriding a variable already set."""
        if env_file is not None:
            from dotenv import load_dotenv

            load_dotenv(env_file, override=False)
        overrides.setdefault("access", AccessPolicy(AccessSettings()))
        return cls(LLMSettings(), **overrides)

    @property
    def settings(self) -> LLMSettings:
        return self.pipeline.settings

    @property
    def access(self) -> CallerResolver | None:
        return self.pipeline.access

    @property
    def budget(self) -> BudgetGuard:
        return self.pipeline.budget

    @property
    def usage_sink(self) -> UsageSink:
        return self.pipeline.recorder.sink

    # ---- catalog ---------------------------------------------------------------------

    def resolve_model(self, name: str | None = None) -> str:
        return resolve_model(
            name or self.settings.default_model, gateway.gateway_shortcuts(self.settings)
        )

    def list_models(self, available_only: bool = True) -> list[catalog.ModelInfo]:
        """The gateway's models once discovered (``await refresh_models()``), else litellm's."""
        if gateway.known(self.settings) is not None:
            return catalog.list_for(self.settings, available_only=available_only)
        return catalog.list_models(
            available_only,
            shortcuts=self.settings.shortcuts,
            all_available=self.settings.api_key is not None,
        )

    async def refresh_models(self, max_age: float | None = None) -> None:
        """Discover the gateway's models (no-op without a gateway); a failure keeps the
        last list. ``max_age``: skip when the last attempt is younger (default: the cache)."""
        found = gateway.catalog_for(self.settings)
        if found is not None:
            age = self.settings.gateway_cache_seconds if max_age is None else max_age
            await found.ensure_fresh(age)

    def supports_vision(self, model: str | None = None) -> bool:
        return bool(catalog.vision_flag(self.resolve_model(model)))

    def model_context_window(self, model: str | None = None) -> int | None:
        model_id = self.resolve_model(model)
        served = gateway.known(self.settings)
        found = served.get(model_id) if served is not None else None
        if found is not None and found.context_window:
            return found.context_window
        return catalog.model_context_window(found.underlying or model_id if found else model_id)

    def history_tokens(self, model: str | None, history: Sequence[ChatMessage]) -> int:
        """About how many prompt tokens ``history`` takes with ``model`` (its tokenizer)."""
        model_id = self.resolve_model(model)
        return sum(turn_tokens(model_id, turn) for turn in history)

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

    async def _prepare(
        self, prompt: str, model: str | None, options: QueryOptions, *, stream: bool
    ) -> ChatRequest:
        own, passthrough = split_options(options)
        return await prepare_chat(self.pipeline, prompt, model, own, passthrough, stream=stream)

    async def _complete(
        self,
        prompt: str,
        model: str | None,
        options: QueryOptions,
        parse: Callable[[Any], T],
        transport: Transport,
    ) -> T:
        if is_runnable(options.get("tools")):
            events = tool_events(self.pipeline, prompt, model, options, transport, stream=False)
            return parse((await last_round(events)).extra.get("response"))
        request = await self._prepare(prompt, model, options, stream=False)
        return await completion.complete(self.pipeline, request, transport, parse)

    async def _structured(
        self,
        prompt: str,
        schema: type[M],
        model: str | None,
        options: QueryOptions,
        transport: Transport,
    ) -> M:
        if is_runnable(options.get("tools")):
            # Silently sending Tools to litellm (or dropping them) would both be wrong.
            raise TypeError(
                "query_llm_structured does not run the tool loop: pass Tools or functions"
                " to aquery_llm/aquery_llm_events and structure the answer afterwards"
                " (litellm's own tool schema dicts are passed through as before)"
            )
        own, passthrough = split_options(options)
        structured.ask_for_schema(own, passthrough, schema)
        request = await prepare_chat(self.pipeline, prompt, model, own, passthrough, stream=False)
        parse = structured.parser(schema, request.call.model_id)
        return await completion.complete(self.pipeline, request, transport, parse)

    def _stream(
        self, prompt: str, model: str | None, options: QueryOptions, transport: Transport
    ) -> AsyncIterator[str]:
        if is_runnable(options.get("tools")):
            return text_only(
                tool_events(self.pipeline, prompt, model, options, transport, stream=True)
            )

        def prepare() -> Awaitable[ChatRequest]:
            return self._prepare(prompt, model, options, stream=True)

        return streaming.stream(self.pipeline, prepare, transport)

    def _events(
        self, prompt: str, model: str | None, options: QueryOptions, transport: Transport
    ) -> AsyncIterator[StreamEvent]:
        if is_runnable(options.get("tools")):
            # The tool loop (llmdoor.tools): rounds of model calls and tool runs.
            return tool_events(self.pipeline, prompt, model, options, transport, stream=True)

        def prepare() -> Awaitable[ChatRequest]:
            return self._prepare(prompt, model, options, stream=True)

        return streaming.stream_events(self.pipeline, prepare, transport)

    async def aquery_llm_raw(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> Any:
        """The full litellm ModelResponse."""
        return await self._complete(prompt, model, options, completion.raw, ASYNC)

    async def aquery_llm(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> str:
        """The reply text."""
        return await self._complete(prompt, model, options, completion.text_of, ASYNC)

    aquery_llm_text = aquery_llm

    async def aquery_llm_structured(
        self,
        prompt: str,
        output_schema: type[M],
        model: str | None = None,
        **options: Unpack[QueryOptions],
    ) -> M:
        """An instance of `output_schema`; StructuredOutputError if the reply does not fit.
        TypeError when ``tools=`` holds Tools or functions: there is no tool loop here."""
        return await self._structured(prompt, output_schema, model, options, ASYNC)

    def aquery_llm_stream(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> AsyncIterator[str]:
        """Text chunks as they arrive. Retries only before the first chunk; a break after
        that raises StreamInterrupted carrying the text so far."""
        return self._stream(prompt, model, options, self._streams)

    def aquery_llm_events(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> AsyncIterator[StreamEvent]:
        """The stream as typed events (llmdoor.events): TextDelta, ReasoningDelta, and a
        last StreamFinished with the finish reason, tool calls asked for and usage event."""
        return self._events(prompt, model, options, self._streams)

    # ---- sync twins ------------------------------------------------------------------

    def query_llm(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> str:
        t = sync_transport()
        return t.run(self._complete(prompt, model, options, completion.text_of, t))

    query_llm_text = query_llm

    def query_llm_raw(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> Any:
        t = sync_transport()
        return t.run(self._complete(prompt, model, options, completion.raw, t))

    def query_llm_structured(
        self,
        prompt: str,
        output_schema: type[M],
        model: str | None = None,
        **options: Unpack[QueryOptions],
    ) -> M:
        t = sync_transport()
        return t.run(self._structured(prompt, output_schema, model, options, t))

    def query_llm_stream(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> Iterator[str]:
        t = sync_transport()
        return t.iterate(self._stream(prompt, model, options, t))

    def query_llm_events(
        self, prompt: str, model: str | None = None, **options: Unpack[QueryOptions]
    ) -> Iterator[StreamEvent]:
        t = sync_transport()
        return t.iterate(self._events(prompt, model, options, t))
