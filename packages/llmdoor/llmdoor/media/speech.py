"""Text to speech through litellm's speech API: OGG/Opus by default, what Telegram's
sendVoice plays as a voice note.

The vendor's bytes are checked, not trusted: their real format is read from the magic
bytes (llmdoor.media.audio_format). When OGG/Opus was asked for and something else came back
(a vendor that ignores ``response_format``), it is converted offline; when that is not
possible ``SpeechAudio.format`` says what the bytes really are. An empty body is an
``EmptyResponse`` (retried like an outage, and recorded as a failed call)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.transport import Transport
from llmdoor.errors import BadRequest, EmptyResponse
from llmdoor.media import audio_format
from llmdoor.media import call as media_call
from llmdoor.media import models as media_models
from llmdoor.media.settings import MediaSettings
from llmdoor.usage import CallKind, UsageEvent

MIME_TYPES = audio_format.MIME_TYPES
# OpenAI's limit per request; longer texts are refused before any spending.
MAX_CHARS = 4096


@dataclass(frozen=True)
class SpeechAudio:
    data: bytes
    format: str  # what the bytes really are: "opus" (OGG/Opus), "mp3", "wav", ...
    mime_type: str
    model: str
    usage: UsageEvent | None = None


def _content(response: Any) -> bytes:
    content = getattr(response, "content", None)
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    read = getattr(response, "read", None)
    return bytes(read()) if callable(read) else b""


async def speak(
    pipeline: Pipeline,
    media: MediaSettings,
    transport: Transport,
    text: str,
    voice: str | None,
    model: str | None,
    *,
    audio_format: str,
    options: dict[str, Any],
) -> SpeechAudio:
    caller, kwargs = await media_call.admit(pipeline, options)
    model_id, shortcut = media_models.resolve_media_model(
        CallKind.SPEECH, model or media.speech_model, pipeline.settings
    )
    text = text.strip()
    if not text or len(text) > MAX_CHARS:
        raise BadRequest(f"Speech needs 1 to {MAX_CHARS} characters of text.", model=model_id)
    estimate = media_models.speech_price(model_id, text)
    call = await media_call.open_call(
        pipeline,
        caller,
        kind=CallKind.SPEECH,
        model_id=model_id,
        shortcut=shortcut,
        estimate=estimate,
        kwargs=kwargs,
    )
    kwargs.update(
        model=model_id,
        input=text,
        voice=voice or media.speech_voice,
        response_format=audio_format,
    )

    async def request() -> tuple[Any, bytes]:
        response = await media_call.invoke(transport, "speech", kwargs)
        data = _content(response)
        if not data:
            raise EmptyResponse("The speech model returned no audio.", model=model_id)
        return response, data

    response, data = await media_call.send(pipeline, call, request)
    cost = media_call.reported_cost(response)
    estimated = cost is None and estimate is not None
    await media_call.succeed(
        pipeline, call, cost if cost is not None else estimate, estimated=estimated
    )
    data, real = await _as_asked(data, audio_format)
    return SpeechAudio(
        data=data,
        format=real,
        mime_type=MIME_TYPES.get(real, "application/octet-stream"),
        model=model_id,
        usage=call.event,
    )


async def _as_asked(data: bytes, asked: str) -> tuple[bytes, str]:
    """The audio and its real format: OGG/Opus when that was asked for and the vendor's
    bytes could be converted, else the bytes as they came."""
    real = audio_format.detect(data)
    if real == "opus" or asked != "opus":
        return data, real or asked  # unknown bytes for another format: the vendor's word
    # Decoding and encoding are CPU-bound: a worker thread keeps the event loop free.
    converted = await asyncio.to_thread(audio_format.to_ogg_opus, data)
    if converted is not None:
        return converted, "opus"
    return data, real or "unknown"
