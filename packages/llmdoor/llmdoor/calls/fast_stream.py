"""OpenAI-compatible streams read straight off the wire (LLM_FAST_STREAM=auto).

Through litellm a streamed token costs ~0.8 ms of CPU: the openai SDK builds pydantic
objects per chunk and litellm's stream wrapper rebuilds them. For providers whose wire
format *is* the OpenAI chat-completions SSE (OpenAI, OpenAI-compatible ``api_base``s such
as vLLM, Ollama's /v1 or a LiteLLM proxy, OpenRouter, DeepSeek), this module sends the
request litellm would send (litellm still builds the body and headers, once per call),
reads the SSE with aiohttp and hands on plain chunk objects with the attributes the
stream consumers read (``choices[0].delta.content`` ...). Everything else stays litellm's:
the decision which provider a model is, the request body, pricing (``cost_per_token``
with the vendor's usage) and the mapping of HTTP errors to its exception types, so that
``typed_errors`` makes the same llmdoor errors of them.

A call that asks for anything this path does not know (another provider, an unknown
keyword, litellm callbacks installed) goes to litellm unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmdoor.calls.transport import ASYNC
from llmdoor.runtime import _litellm, best_effort, on_close

if TYPE_CHECKING:
    import aiohttp

# litellm providers whose streams are OpenAI chat-completions SSE, sent by litellm through
# the openai SDK.
FAST_PROVIDERS = frozenset(
    {"openai", "custom_openai", "deepseek", "openrouter", "hosted_vllm", "litellm_proxy"}
)
_DEFAULT_BASES = {
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}
_BASE_ENV = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "openrouter": ("OPENROUTER_API_BASE",),
    "litellm_proxy": ("LITELLM_PROXY_API_BASE",),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE",),
}
_KEY_ENV = {
    "openai": ("OPENAI_API_KEY",),
    "custom_openai": ("OPENAI_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY", "OR_API_KEY"),
    "hosted_vllm": ("HOSTED_VLLM_API_KEY",),
    "litellm_proxy": ("LITELLM_PROXY_API_KEY",),
}
# What llmdoor's request carries besides the model's parameters (litellm's own knobs).
_CALL_KEYS = frozenset(
    {"model", "messages", "timeout", "num_retries", "max_retries", "drop_params"}
    | {"api_base", "api_key", "stream", "stream_options"}
)
# Parameters sent to the vendor, through litellm's get_optional_params as litellm does.
_PARAMS = frozenset(
    {"temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "seed"}
    | {"presence_penalty", "frequency_penalty", "logit_bias", "user", "response_format"}
    | {"tools", "tool_choice", "parallel_tool_calls", "reasoning_effort"}
)


@dataclass(frozen=True)
class Route:
    url: str
    headers: dict[str, str]
    body: bytes
    provider: str
    model: str  # as the vendor knows it (litellm's prefix removed)
    timeout: float | None


def _callbacks_installed(lit: Any) -> bool:
    """litellm callbacks (logging, observability) run only on litellm's path."""
    names = (
        "callbacks",
        "success_callback",
        "failure_callback",
        "input_callback",
        "_async_success_callback",
        "_async_failure_callback",
    )
    return any(getattr(lit, name, None) for name in names)


def _first_env(names: tuple[str, ...]) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def route_for(kwargs: dict[str, Any]) -> Route | None:
    """The request as litellm would send it, or None: this call goes to litellm."""
    if not kwargs.get("stream") or not set(kwargs) <= _CALL_KEYS | _PARAMS:
        return None
    if kwargs.get("n") not in (None, 1):
        return None
    lit = _litellm()
    if _callbacks_installed(lit):
        return None
    # litellm's own code decides, builds and may raise on anything odd: then it is
    # litellm's call, with litellm's error.
    return best_effort(_build, lit, kwargs, default=None)


def _build(lit: Any, kwargs: dict[str, Any]) -> Route | None:
    from litellm.utils import ProviderConfigManager, get_optional_params

    api_base = kwargs.get("api_base")
    model, provider, dynamic_key, dynamic_base = lit.get_llm_provider(
        kwargs["model"], api_base=api_base
    )
    if provider not in FAST_PROVIDERS:
        return None
    base = (
        api_base
        or dynamic_base
        or _first_env(_BASE_ENV.get(provider, ()))
        or _DEFAULT_BASES.get(provider)
    )
    key = kwargs.get("api_key") or dynamic_key or _first_env(_KEY_ENV[provider])
    if not base or not key:
        return None
    params = {k: v for k, v in kwargs.items() if k in _PARAMS}
    optional = get_optional_params(
        model=model,
        custom_llm_provider=provider,
        stream=True,
        stream_options=kwargs.get("stream_options"),
        drop_params=kwargs.get("drop_params"),
        **params,
    )
    config = ProviderConfigManager.get_provider_chat_config(
        model=model, provider=lit.LlmProviders(provider)
    )
    if config is None:
        return None
    messages = kwargs["messages"]
    body = config.transform_request(
        model=model,
        messages=messages,
        optional_params=dict(optional),
        litellm_params={},
        headers={},
    )
    body.update(body.pop("extra_body", None) or {})  # as the openai SDK merges it
    headers = config.validate_environment(
        headers={},
        model=model,
        messages=messages,
        optional_params=optional,
        litellm_params={},
        api_key=key,
        api_base=base,
    )
    headers["Accept"] = "text/event-stream"
    timeout = kwargs.get("timeout")
    return Route(
        url=base.rstrip("/") + "/chat/completions",
        headers={str(k): str(v) for k, v in headers.items()},
        # As httpx encodes the openai SDK's request: UTF-8, so a text it cannot send (a lone
        # surrogate) fails here too, and the call goes to litellm for litellm's error.
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(),
        provider=provider,
        model=model,
        timeout=float(timeout) if isinstance(timeout, int | float) else None,
    )


# ---- chunks: the attributes llmdoor.chat.streaming reads, nothing more ----------------


class _Function:
    __slots__ = ("arguments", "name")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.name: str | None = raw.get("name")
        self.arguments: str | None = raw.get("arguments")


class _ToolCallPart:
    __slots__ = ("function", "id", "index", "type")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.index: int = raw.get("index") or 0
        self.id: str | None = raw.get("id")
        self.type: str | None = raw.get("type")
        function = raw.get("function")
        self.function = _Function(function) if isinstance(function, dict) else None


class Delta:
    __slots__ = ("content", "reasoning_content", "role", "thinking_blocks", "tool_calls")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.role: str | None = raw.get("role")
        self.content: str | None = raw.get("content")
        reasoning = raw.get("reasoning_content")
        if reasoning is None:  # vLLM, Ollama, OpenRouter name it "reasoning" (so does litellm)
            reasoning = raw.get("reasoning")
        self.reasoning_content: str | None = reasoning if isinstance(reasoning, str) else None
        self.thinking_blocks: Any = raw.get("thinking_blocks")
        calls = raw.get("tool_calls")
        self.tool_calls = (
            [_ToolCallPart(c) for c in calls if isinstance(c, dict)] if calls else None
        )


class Choice:
    __slots__ = ("delta", "finish_reason", "index")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.index: int = raw.get("index") or 0
        delta = raw.get("delta")
        self.delta = Delta(delta if isinstance(delta, dict) else {})
        self.finish_reason: str | None = raw.get("finish_reason")


class Usage:
    """The vendor's usage, as litellm's Usage reads it (details included) for pricing."""

    __slots__ = ("completion_tokens", "prompt_tokens", "raw", "total_tokens")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.prompt_tokens: int = raw.get("prompt_tokens") or 0
        self.completion_tokens: int = raw.get("completion_tokens") or 0
        self.total_tokens: int = raw.get("total_tokens") or 0


class Chunk:
    __slots__ = ("__weakref__", "_cost", "_route", "choices", "id", "model", "usage")

    def __init__(self, raw: dict[str, Any], route: Route) -> None:
        self.id: str | None = raw.get("id")
        self.model: str | None = raw.get("model")
        choices = raw.get("choices")
        self.choices = [Choice(c) for c in choices if isinstance(c, dict)] if choices else []
        usage = raw.get("usage")
        self.usage = Usage(usage) if isinstance(usage, dict) else None
        self._route = route
        self._cost: dict[str, Any] | None = None

    @property
    def _hidden_params(self) -> dict[str, Any]:
        """litellm's price for this usage (cache- and tier-aware, as on litellm's path),
        worked out only when the recorder asks, i.e. for a priced model's usage chunk."""
        if self._cost is None:
            self._cost = {}
            if self.usage is not None:
                lit = _litellm()
                usage = best_effort(lit.Usage, **self.usage.raw, default=None)
                costs = best_effort(
                    lit.cost_per_token,
                    model=self._route.model,
                    custom_llm_provider=self._route.provider,
                    usage_object=usage,
                    default=None,
                )
                if costs is not None and usage is not None:
                    self._cost["response_cost"] = float(costs[0]) + float(costs[1])
        return self._cost


# ---- the transport --------------------------------------------------------------------


class FastStream:
    """An open streamed response."""

    def __init__(self, response: aiohttp.ClientResponse, route: Route) -> None:
        self.response = response
        self.route = route

    async def chunks(self) -> AsyncIterator[Chunk]:
        lit = _litellm()
        route = self.route
        response = self.response
        finished = False
        data: list[bytes] = []
        buffer = b""
        try:
            try:
                async for block in response.content.iter_any():
                    buffer += block
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        # Server-sent events: "data:" lines, an empty line ends an event.
                        line = line.rstrip(b"\r")
                        if line.startswith(b"data:"):
                            value = line[5:]
                            data.append(value[1:] if value.startswith(b" ") else value)
                            continue
                        if line or not data:
                            continue  # comments (": keep-alive"), event:, id:, retry:
                        payload = b"\n".join(data)
                        data.clear()
                        if payload.strip() == b"[DONE]":
                            # As the openai SDK does: read the body to its end, so the
                            # call is over (and the connection reusable) when this ends.
                            async for _rest in response.content.iter_any():
                                pass
                            finished = True
                            return
                        yield self._chunk(lit, payload)
            except TimeoutError as exc:
                raise lit.Timeout(
                    message=f"The stream stalled: {exc}",
                    model=route.model,
                    llm_provider=route.provider,
                ) from None
            except _client_errors() as exc:
                raise lit.APIConnectionError(
                    message=f"The stream broke off: {type(exc).__name__}: {exc}",
                    llm_provider=route.provider,
                    model=route.model,
                ) from None
            if data:  # a last event without its blank line
                payload = b"\n".join(data)
                if payload.strip() != b"[DONE]":
                    yield self._chunk(lit, payload)
            finished = True
        finally:
            if finished:
                response.release()
            else:
                response.close()  # stopped early (cancel, error): drop the connection

    def _chunk(self, lit: Any, payload: bytes) -> Chunk:
        raw = json.loads(payload)
        if isinstance(raw, dict) and raw.get("error"):
            # As the openai SDK does: an error event inside a 200 stream.
            error = raw["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise lit.APIConnectionError(
                message=f"The stream reported an error: {message}",
                llm_provider=self.route.provider,
                model=self.route.model,
            )
        return Chunk(raw if isinstance(raw, dict) else {}, self.route)


def _client_errors() -> tuple[type[BaseException], ...]:
    import aiohttp

    return (aiohttp.ClientError,)


def _status_error(route: Route, status: int, text: str, headers: Any) -> Exception:
    """The exception litellm raises for this HTTP error (its own mapping of the vendor's
    status and message: context length, content policy, rate limit, auth ...)."""
    from litellm.litellm_core_utils.exception_mapping_utils import exception_type
    from litellm.llms.openai.common_utils import OpenAIError

    try:
        body = json.loads(text)
    except ValueError:
        body = None
    message = f"Error code: {status} - {body if body is not None else text}"
    import httpx

    request = httpx.Request("POST", route.url)
    original = OpenAIError(
        status_code=status,
        message=message,
        request=request,
        # The vendor's headers (Retry-After ...) reach the mapped exception through these.
        response=httpx.Response(status, headers=dict(headers), request=request),
        headers=dict(headers),
        body=body if isinstance(body, dict) else None,
    )
    # exception_type raises what it made of the error (a litellm exception).
    exception_type(
        model=route.model,
        custom_llm_provider=route.provider,
        original_exception=original,
        completion_kwargs={},
        extra_kwargs={},
    )
    return original


async def _closed_with_the_loop(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Held open, this async generator is closed by the loop's ``shutdown_asyncgens``
    (``asyncio.run`` and test runners call it) or by its finalizer: the session goes with
    its loop, without an "Unclosed client session" at exit."""
    try:
        yield
    finally:
        await session.close()


class FastStreamTransport:
    """litellm's async client, except for OpenAI-compatible streams, read here. One
    aiohttp session (a keep-alive pool) per event loop."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, AsyncIterator[None]]
        ] = weakref.WeakKeyDictionary()

    async def _session(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        held = self._sessions.get(loop)
        if held is None or held[0].closed:
            # No total timeout: a long answer may stream for minutes; the per-read timeout
            # (as litellm's httpx timeout) is set per request.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
            session = aiohttp.ClientSession(connector=connector, trust_env=True)
            guard = _closed_with_the_loop(session)
            await anext(guard)
            held = self._sessions[loop] = (session, guard)
        return held[0]

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        route = route_for(kwargs)
        if route is None:
            return await ASYNC.complete(kwargs)
        return await self.open(route)

    async def open(self, route: Route) -> FastStream:
        import aiohttp

        lit = _litellm()
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=route.timeout, sock_read=route.timeout
        )
        try:
            session = await self._session()
            response = await session.post(
                route.url, data=route.body, headers=route.headers, timeout=timeout
            )
        except TimeoutError as exc:
            raise lit.Timeout(
                message=f"Request timed out: {exc}", model=route.model, llm_provider=route.provider
            ) from None
        except aiohttp.ClientError as exc:
            raise lit.APIConnectionError(
                message=f"Connection error: {type(exc).__name__}: {exc}",
                llm_provider=route.provider,
                model=route.model,
            ) from None
        if response.status != 200:
            try:
                text = await response.text(errors="replace")
            finally:
                response.release()
            raise _status_error(route, response.status, text, response.headers)
        return FastStream(response, route)

    def chunks(self, response: Any) -> AsyncIterator[Any]:
        if isinstance(response, FastStream):
            return response.chunks()
        return ASYNC.chunks(response)

    async def aclose(self) -> None:
        """Close this loop's session (other loops' sessions close with their loops)."""
        held = self._sessions.pop(asyncio.get_running_loop(), None)
        if held is not None:
            await held[0].close()


FAST = FastStreamTransport()
on_close(FAST.aclose)
