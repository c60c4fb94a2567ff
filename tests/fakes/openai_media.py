"""The media endpoints of the OpenAI-compatible fake: transcription, speech and image
generation, as litellm calls them for ``openai/`` models with an ``api_base``.

    fake.media.transcript = "hello"          # what /audio/transcriptions returns
    fake.media.script(Reply.server_error())  # errors for the next media requests
    fake.media_requests                      # RecordedRequest rows for these paths

Transcriptions arrive as multipart forms: ``RecordedRequest.json`` holds the form fields,
plus ``file_bytes`` (the upload's size) and ``file_name``.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.openai_server import Reply


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG of one colour (what the fake 'draws')."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# The first page of an OGG/Opus stream: page header (version 0, beginning of stream, one
# segment of 19 bytes), then the OpusHead packet; then filler for the rest of the file.
FAKE_OGG = (
    b"OggS\x00\x02"
    + b"\x00" * 20
    + b"\x01\x13"
    + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
    + b"\x01" * 40
)


@dataclass
class MediaBehaviour:
    """What the media endpoints answer; tests change the fields."""

    transcript: str = "Hello from the voice note."
    language: str = "english"
    duration: float = 3.0  # seconds of audio the fake 'heard'
    speech: bytes = FAKE_OGG  # returned whatever response_format asked (MP3/WAV too)
    speech_content_type: str | None = None  # None: the type of the format asked for
    image: bytes = field(default_factory=tiny_png)
    revised_prompt: str | None = None
    # Answer with a URL (as DALL-E does by default) even when no response_format asks;
    # the picture is then served at GET /v1/fake-images/<n>.png on this fake's own host.
    image_as_url: bool = False
    image_fetches: int = 0  # GETs of those URLs answered
    image_tokens: int = 1056  # output tokens per image in the usage (medium, 1024x1024)
    _queue: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Reply) -> MediaBehaviour:
        """Replies (errors, delays) for the next media requests, in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def next_reply(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None


def _error(reply: Reply) -> web.Response:
    error = {
        "message": reply.error_message,
        "type": reply.error_type,
        "param": None,
        "code": reply.error_code,
    }
    return web.json_response({"error": error}, status=reply.status, headers=reply.headers)


class MediaRoutes:
    def __init__(self, behaviour: Callable[[], MediaBehaviour], record: Any) -> None:
        self._behaviour = behaviour  # read per request: reset() installs a fresh one
        self._record = record  # (request, body) -> RecordedRequest, appended to the log

    def add_to(self, app: web.Application) -> None:
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/audio/transcriptions", self._transcriptions)
            app.router.add_post(f"{prefix}/audio/speech", self._speech)
            app.router.add_post(f"{prefix}/images/generations", self._images)
        app.router.add_get("/v1/fake-images/{name}", self._image_file)

    async def _scripted(self) -> web.Response | None:
        import asyncio

        reply = self._behaviour().next_reply()
        if reply is None:
            return None
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return _error(reply) if reply.status != 200 else None

    async def _transcriptions(self, request: web.Request) -> web.Response:
        fields: dict[str, Any] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            name = getattr(part, "name", None) or ""
            data = await part.read()  # type: ignore[union-attr]
            if name == "file":
                fields["file_bytes"] = len(data)
                fields["file_name"] = getattr(part, "filename", None)
            else:
                fields[name] = data.decode("utf-8", "replace")
        self._record(request, fields)
        failed = await self._scripted()
        if failed is not None:
            return failed
        b = self._behaviour()
        fmt = fields.get("response_format", "json")
        if fmt == "text":
            return web.Response(text=b.transcript)
        if fmt == "verbose_json":
            return web.json_response(
                {
                    "task": "transcribe",
                    "language": b.language,
                    "duration": b.duration,
                    "text": b.transcript,
                    "segments": [],
                }
            )
        words = max(len(b.transcript.split()), 1)
        return web.json_response(
            {
                "text": b.transcript,
                "usage": {
                    "type": "tokens",
                    "input_tokens": int(b.duration * 10),
                    "output_tokens": words,
                    "total_tokens": int(b.duration * 10) + words,
                },
            }
        )

    async def _speech(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        failed = await self._scripted()
        if failed is not None:
            return failed
        b = self._behaviour()
        fmt = body.get("response_format", "mp3")
        kind = {"opus": "audio/ogg", "mp3": "audio/mpeg", "wav": "audio/wav"}.get(fmt, "audio/ogg")
        return web.Response(body=b.speech, content_type=b.speech_content_type or kind)

    async def _image_file(self, request: web.Request) -> web.Response:
        b = self._behaviour()
        b.image_fetches += 1
        return web.Response(body=b.image, content_type="image/png")

    async def _images(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        failed = await self._scripted()
        if failed is not None:
            return failed
        b = self._behaviour()
        n = int(body.get("n") or 1)
        row: dict[str, Any]
        if body.get("response_format") == "url" or b.image_as_url:
            row = {"url": f"http://{request.host}/v1/fake-images/1.png"}
        else:
            row = {"b64_json": base64.b64encode(b.image).decode()}
        if b.revised_prompt:
            row["revised_prompt"] = b.revised_prompt
        words = max(len(str(body.get("prompt", "")).split()), 1)
        usage = {
            "input_tokens": words,
            "output_tokens": b.image_tokens * n,
            "total_tokens": words + b.image_tokens * n,
            "input_tokens_details": {"text_tokens": words, "image_tokens": 0},
        }
        payload = {"created": int(time.time()), "data": [row] * n, "usage": usage}
        return web.json_response(payload)
