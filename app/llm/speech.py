"""Text to speech through litellm's speech API: OGG/Opus by default, what Telegram's
sendVoice plays as a voice note."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.llm import media_call, media_models
from app.llm.errors import BadRequest
from app.llm.media_settings import MediaSettings
from app.llm.pipeline import Pipeline
from app.llm.transport import Transport
from app.llm.usage import UsageEvent

MIME_TYPES = {"opus": "audio/ogg", "mp3": "audio/mpeg", "aac": "audio/aac", "flac": "audio/flac"}
# OpenAI's limit per request; longer texts are refused before any spending.
MAX_CHARS = 4096


@dataclass(frozen=True)
class SpeechAudio:
    data: bytes
    format: str  # "opus" (OGG container), "mp3", ...
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
        "speech", model or media.speech_model, pipeline.settings
    )
    text = text.strip()
    if not text or len(text) > MAX_CHARS:
        raise BadRequest(f"Speech needs 1 to {MAX_CHARS} characters of text.", model=model_id)
    estimate = media_models.speech_price(model_id, text)
    call = await media_call.open_call(
        pipeline,
        caller,
        kind="speech",
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

    async def request() -> Any:
        return await media_call.invoke(transport, "speech", kwargs)

    response = await media_call.send(pipeline, call, request)
    data = _content(response)
    cost = media_call.reported_cost(response)
    estimated = cost is None and estimate is not None
    await media_call.succeed(
        pipeline, call, cost if cost is not None else estimate, estimated=estimated
    )
    return SpeechAudio(
        data=data,
        format=audio_format,
        mime_type=MIME_TYPES.get(audio_format, "application/octet-stream"),
        model=model_id,
        usage=call.event,
    )
