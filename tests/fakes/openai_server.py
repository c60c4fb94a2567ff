"""A local OpenAI-compatible chat server for tests and benchmarks (real HTTP, no vendor).

    with FakeOpenAI() as fake:                       # aiohttp on 127.0.0.1:<random port>
        fake.script(Reply.rate_limited(retry_after=0), Reply.text("hi"))
        litellm.completion(model="openai/fake", api_base=fake.base_url, api_key="sk-test", ...)
        fake.requests[-1].json["messages"]

Replies come from, in order: `on(word, reply)` rules matched against the last user
message, the FIFO queue filled by `script(...)`, else the default echo
("echo: <last user message>"). Every reply carries usage. The server runs in its own
thread and loop, so sync and async clients (and any test loop) can use it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.openai_media import MediaBehaviour, MediaRoutes


@dataclass
class Reply:
    """One scripted response. status != 200 sends an OpenAI-style error body."""

    text: str | None = None  # None: echo the last user message
    status: int = 200
    error_message: str = "error"
    error_type: str | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between stream chunks
    chunk_size: int | None = None  # characters per stream chunk (None: server default)
    break_after: int | None = None  # streams: drop the connection after N content chunks
    prompt_tokens: int | None = None  # None: counted from the request (words)
    completion_tokens: int | None = None
    # Streams: False leaves out the usage chunk even when the client asks for one (as
    # some OpenAI-compatible servers do).
    send_usage: bool = True
    # Streamed before the answer as ``reasoning_content`` deltas (and returned as such in a
    # whole response), as reasoning models do through litellm.
    reasoning: str | None = None
    # Tool calls the model asks for: [{"name": ..., "arguments": {...} or "json"}, ...].
    # With tool calls the text defaults to "" and the finish reason is "tool_calls".
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None  # None: "tool_calls" with tool calls, else "stop"
    # Streams: seconds between the chunk with the finish reason and the rest (the usage
    # chunk and [DONE]), like a vendor still counting; the answer is complete meanwhile.
    tail_delay: float = 0.0

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "error",
        *,
        type: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return cls(
            status=status,
            error_message=message,
            error_type=type,
            error_code=code,
            headers=headers or {},
        )

    @classmethod
    def unauthorized(cls, message: str = "Incorrect API key provided.") -> Reply:
        return cls.error(401, message, type="invalid_request_error", code="invalid_api_key")

    @classmethod
    def rate_limited(cls, retry_after: float | None = 0) -> Reply:
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return cls.error(
            429, "Rate limit reached.", type="requests", code="rate_limit_exceeded", headers=headers
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls.error(status, "The server had an error.", type="server_error")

    @classmethod
    def context_too_long(cls) -> Reply:
        return cls.error(
            400,
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 200000 tokens. Please reduce the length of the messages.",
            type="invalid_request_error",
            code="context_length_exceeded",
        )

    @classmethod
    def slow(cls, delay: float, text: str | None = None) -> Reply:
        return cls(text=text, delay=delay)

    @classmethod
    def broken_stream(cls, after: int, text: str, chunk_size: int = 4) -> Reply:
        return cls(text=text, break_after=after, chunk_size=chunk_size)

    @classmethod
    def json(cls, payload: Any) -> Reply:
        return cls(text=json.dumps(payload))


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any]
    # time.monotonic() stamps (same clock as the Telegram emulator's call log), for
    # benchmarks: when it arrived, when the first/last content chunk and [DONE] went out.
    received_at: float = field(default_factory=time.monotonic)
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    done_at: float | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.json.get("messages", []))

    @property
    def stream(self) -> bool:
        return bool(self.json.get("stream"))


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return ""


def _tool_calls(calls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for n, call in enumerate(calls or []):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        out.append(
            {
                "id": call.get("id") or f"call_{n}_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {"name": call["name"], "arguments": arguments},
            }
        )
    return out


def _count_words(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            total += len(content.split())
        elif isinstance(content, list):
            total += sum(len(p.get("text", "").split()) for p in content if p.get("type") == "text")
    return max(total, 1)


class FakeOpenAI:
    def __init__(self, host: str = "127.0.0.1", chunk_size: int = 8) -> None:
        self.host = host
        self.chunk_size = chunk_size
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._rules: list[tuple[str, Reply]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        # Gateway metadata: /v1/models rows (None: the one default model), a LiteLLM
        # proxy's /model/info rows (None: 404, not a proxy), and the status discovery gets.
        self.models: list[dict[str, Any]] | None = None
        self.model_info: list[dict[str, Any]] | None = None
        self.models_status = 200
        self.discoveries = 0  # /v1/models requests answered (any status)
        # /audio/transcriptions, /audio/speech, /images/generations (tests.fakes.openai_media)
        self.media = MediaBehaviour()

    # ---- scripting -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *replies: Reply) -> FakeOpenAI:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def on(self, word: str, reply: Reply) -> FakeOpenAI:
        """Answer with `reply` whenever the last user message contains `word` (not consumed)."""
        with self._lock:
            self._rules.append((word, reply))
        return self

    def gateway(
        self, models: list[dict[str, Any]], model_info: list[dict[str, Any]] | None = None
    ) -> FakeOpenAI:
        """Serve these /v1/models rows (and /model/info rows, as a LiteLLM proxy does)."""
        with self._lock:
            self.models, self.model_info, self.models_status = models, model_info, 200
        return self

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self.requests.clear()
            self.models = self.model_info = None
            self.models_status = 200
            self.discoveries = 0
            self.media = MediaBehaviour()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def media_requests(self) -> list[RecordedRequest]:
        """Transcription, speech and image requests, in arrival order."""
        paths = ("/audio/transcriptions", "/audio/speech", "/images/generations")
        return [r for r in self.requests if r.path.endswith(paths)]

    def _record_media(self, request: web.Request, body: dict[str, Any]) -> None:
        recorded = RecordedRequest(request.method, request.path, dict(request.headers), body)
        with self._lock:
            self.requests.append(recorded)

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for path in ("/v1/chat/completions", "/chat/completions"):
            app.router.add_post(path, self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/model/info", self._model_info)
        MediaRoutes(lambda: self.media, self._record_media).add_to(app)
        # handler_cancellation: a client that gives up (timeout tests) frees the handler.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    # ---- handlers --------------------------------------------------------------------

    def _pick(self, body: dict[str, Any]) -> Reply:
        last = _last_user_text(body)
        with self._lock:
            for word, reply in self._rules:
                if word in last:
                    return reply
            if self._queue:
                return self._queue.popleft()
        return Reply()

    async def _models(self, request: web.Request) -> web.Response:
        with self._lock:
            self.discoveries += 1
            status, rows = self.models_status, self.models
        if status != 200:
            return web.json_response({"error": {"message": "down"}}, status=status)
        data = rows if rows is not None else [{"id": "fake-model", "object": "model"}]
        return web.json_response({"object": "list", "data": data})

    async def _model_info(self, request: web.Request) -> web.Response:
        with self._lock:
            status, rows = self.models_status, self.model_info
        if status != 200 or rows is None:
            return web.json_response(
                {"error": {"message": "not found"}}, status=404 if status == 200 else status
            )
        return web.json_response({"data": rows})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        recorded = RecordedRequest(request.method, request.path, dict(request.headers), body)
        with self._lock:
            self.requests.append(recorded)
        reply = self._pick(body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            error = {
                "message": reply.error_message,
                "type": reply.error_type,
                "param": None,
                "code": reply.error_code,
            }
            return web.json_response({"error": error}, status=reply.status, headers=reply.headers)

        if reply.text is not None:
            text = reply.text
        elif reply.tool_calls:
            text = ""
        else:
            text = f"echo: {_last_user_text(body)}"
        tool_calls = _tool_calls(reply.tool_calls)
        finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        prompt_tokens = (
            reply.prompt_tokens if reply.prompt_tokens is not None else _count_words(body)
        )
        completion_tokens = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else max(len(text.split()), 1)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        model = body.get("model", "fake-model")
        ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": text or None if tool_calls else text,
                                **({"tool_calls": tool_calls} if tool_calls else {}),
                                **(
                                    {"reasoning_content": reply.reasoning}
                                    if reply.reasoning
                                    else {}
                                ),
                            },
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                },
                headers=reply.headers,
            )
        return await self._stream(
            request, reply, text, usage, model, ident, created, body, recorded, tool_calls, finish
        )

    async def _stream(
        self,
        request: web.Request,
        reply: Reply,
        text: str,
        usage: dict[str, int],
        model: str,
        ident: str,
        created: int,
        body: dict[str, Any],
        recorded: RecordedRequest,
        tool_calls: list[dict[str, Any]],
        finish: str,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                **reply.headers,
            }
        )
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        size = reply.chunk_size or self.chunk_size
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        await response.write(chunk({"role": "assistant", "content": ""}))
        if reply.reasoning:
            for i in range(0, len(reply.reasoning), size):
                if reply.chunk_delay:
                    await asyncio.sleep(reply.chunk_delay)
                piece = reply.reasoning[i : i + size]
                await response.write(chunk({"reasoning_content": piece}))
        for index, call in enumerate(tool_calls):
            # As vendors stream them: the id and name first, the arguments in pieces.
            head = {"index": index, "id": call["id"], "type": "function"}
            head["function"] = {"name": call["function"]["name"], "arguments": ""}
            await response.write(chunk({"tool_calls": [head]}))
            arguments = call["function"]["arguments"]
            for i in range(0, len(arguments), size):
                part = {"index": index, "function": {"arguments": arguments[i : i + size]}}
                await response.write(chunk({"tool_calls": [part]}))
        if not text and tool_calls:
            pieces = []
        for n, piece in enumerate(pieces):
            if reply.break_after is not None and n >= reply.break_after:
                # Abort without the terminating chunk: the client sees a broken body,
                # exactly like a dropped upstream connection. The chunks written so far
                # leave first: abort() drops what is still in the send buffer.
                transport = request.transport
                assert transport is not None
                for _ in range(200):
                    if transport.get_write_buffer_size() == 0:
                        break
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.05)  # and reach the client before the reset does
                transport.abort()
                return response
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            # Stamped before the write: the client may act on the chunk before it returns.
            recorded.last_chunk_at = time.monotonic()
            if recorded.first_chunk_at is None:
                recorded.first_chunk_at = recorded.last_chunk_at
            await response.write(chunk({"content": piece}))
        await response.write(chunk({}, finish))
        if reply.tail_delay:
            await asyncio.sleep(reply.tail_delay)
        if reply.send_usage and (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        recorded.done_at = time.monotonic()
        return response
