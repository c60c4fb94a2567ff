"""Model names for the media calls (transcription, speech, images) and their prices.

Media shortcuts are kept apart from the chat shortcuts: /model lists chat models only, and
``whisper`` must never be picked as a chat model. A name with "/" is a litellm id as is.
Prices come from litellm's model map: per second of audio, per character or token of text,
per image (by size and quality) or per image token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from llmdoor.errors import UnknownModel
from llmdoor.models import catalog
from llmdoor.models.shortcuts import merged_shortcuts
from llmdoor.settings import LLMSettings
from llmdoor.usage import CallKind

#: The kinds of call made with a media model, a part of CallKind.
MediaKind = Literal[CallKind.TRANSCRIPTION, CallKind.SPEECH, CallKind.IMAGE]

MEDIA_SHORTCUTS: Mapping[MediaKind, Mapping[str, str]] = {
    CallKind.TRANSCRIPTION: {
        "whisper": "openai/whisper-1",
        "whisper-1": "openai/whisper-1",
        "gpt-4o-transcribe": "openai/gpt-4o-transcribe",
        "gpt-4o-mini-transcribe": "openai/gpt-4o-mini-transcribe",
        "gpt-transcribe": "openai/gpt-transcribe",
    },
    CallKind.SPEECH: {
        "tts": "openai/tts-1",
        "tts-1": "openai/tts-1",
        "tts-hd": "openai/tts-1-hd",
        "gpt-4o-mini-tts": "openai/gpt-4o-mini-tts",
    },
    CallKind.IMAGE: {
        "gpt-image": "openai/gpt-image-2",
        "gpt-image-2": "openai/gpt-image-2",
        "gpt-image-mini": "openai/gpt-image-1-mini",
        "gpt-image-1-mini": "openai/gpt-image-1-mini",
    },
}

# litellm's map "mode" of each kind: a bare id is accepted when its row has this mode.
_MODES: Mapping[MediaKind, str] = {
    CallKind.TRANSCRIPTION: "audio_transcription",
    CallKind.SPEECH: "audio_speech",
    CallKind.IMAGE: "image_generation",
}


def resolve_media_model(
    kind: MediaKind, name: str, settings: LLMSettings
) -> tuple[str, str | None]:
    """(litellm id, the shortcut used or None). The operator's LLM_SHORTCUTS win."""
    key = name.strip()
    lowered = key.lower()
    operator = merged_shortcuts(settings.shortcuts)
    if lowered in settings.shortcuts:
        return operator[lowered], lowered
    own = MEDIA_SHORTCUTS[kind]
    if lowered in own:
        return own[lowered], lowered
    if "/" in key:
        return key, None
    entry = catalog.map_entry(key)
    if entry is not None and entry.get("mode") == _MODES[kind]:
        return key, None
    import difflib

    raise UnknownModel(key, suggestions=difflib.get_close_matches(lowered, list(own), n=3))


def entry_of(model_id: str) -> Mapping[str, Any]:
    """The map row, for ``openai/x`` also under the bare name litellm files it under."""
    found = catalog.map_entry(model_id)
    if not found and "/" in model_id:
        found = catalog.map_entry(model_id.split("/", 1)[1])
    return found or {}


def _rate(entry: Mapping[str, Any], name: str) -> float:
    value = entry.get(name)
    return float(value) if isinstance(value, int | float) else 0.0


def is_media_priced(model_id: str) -> bool:
    """Whether litellm knows any price for the model (friends only get priced models)."""
    entry = entry_of(model_id)
    if any(_rate(entry, k) > 0 for k in entry if "cost_per" in k):
        return True
    return image_price(model_id, "1024x1024", None, "") is not None


# ---- transcription -----------------------------------------------------------------

# Telegram voice notes are Opus at ~16-32 kbit/s; assuming the low end over-reserves,
# which is the safe side for a budget.
_BYTES_PER_SECOND = 2000


def audio_seconds(size_bytes: int, hint: float | None) -> float:
    return hint if hint is not None and hint > 0 else max(1.0, size_bytes / _BYTES_PER_SECOND)


def transcription_price(model_id: str, seconds: float) -> float | None:
    entry = entry_of(model_id)
    per_second = _rate(entry, "input_cost_per_second")
    if per_second:
        return seconds * per_second
    per_token = _rate(entry, "input_cost_per_audio_token") or _rate(entry, "input_cost_per_token")
    if per_token:
        return seconds * 10 * per_token  # ~10 audio tokens per second
    return None


# ---- speech ------------------------------------------------------------------------

_CHARS_PER_SECOND = 15  # speaking rate, for models priced per output second


def speech_price(model_id: str, text: str) -> float | None:
    entry = entry_of(model_id)
    per_char = _rate(entry, "input_cost_per_character")
    if per_char:
        return len(text) * per_char
    per_token, per_second = (
        _rate(entry, "input_cost_per_token"),
        _rate(entry, "output_cost_per_second"),
    )
    if per_token or per_second:
        tokens = max(1, len(text) // 3)
        return tokens * per_token + len(text) / _CHARS_PER_SECOND * per_second
    return None


# ---- images ------------------------------------------------------------------------

# Output image tokens of OpenAI's image models at 1024x1024 per quality (their pricing
# page); other sizes scale with the pixel count.
_IMAGE_TOKENS = {"low": 272, "medium": 1056, "high": 4160}


_WORST_FIRST = ["high", "hd", "medium", "standard", "low"]
# DALL-E says "hd"/"standard" where the gpt-image models say "high"/"medium".
_SAME_QUALITY = {
    "high": ["high", "hd"],
    "hd": ["hd", "high"],
    "medium": ["medium", "standard"],
    "standard": ["standard", "medium"],
}


def _pixels(size: str) -> int:
    w, _, h = size.lower().partition("x")
    try:
        return max(1, int(w)) * max(1, int(h))
    except ValueError:
        return 1024 * 1024


def image_price(model_id: str, size: str, quality: str | None, prompt: str) -> float | None:
    """The price of one image; ``quality`` None: the worst case (for the reservation).

    litellm files per-size prices as ``[provider/]quality/W-x-H/model``: a provider's own
    row (``azure/hd/1024-x-1024/dall-e-3``) wins over the unprefixed (OpenAI) one."""
    provider, sep, bare = model_id.partition("/")
    if not sep:
        provider, bare = "", model_id
    prefixes = [f"{provider}/", ""] if provider else [""]
    dims = size.lower().replace("x", "-x-")
    qualities = _SAME_QUALITY.get(quality, [quality]) if quality else _WORST_FIRST
    for q in [*qualities, None]:
        for prefix in prefixes:
            key = f"{prefix}{q}/{dims}/{bare}" if q else f"{prefix}{dims}/{bare}"
            row = _size_row(key)
            per_image = _rate(row, "input_cost_per_image") or _rate(row, "output_cost_per_image")
            if per_image:
                return per_image
            per_pixel = _rate(row, "input_cost_per_pixel")
            if per_pixel:
                return per_pixel * _pixels(size)
    entry = entry_of(model_id)
    per_image = _rate(entry, "output_cost_per_image") or _rate(entry, "input_cost_per_image")
    if per_image:
        return per_image
    per_token = _rate(entry, "output_cost_per_image_token") or _rate(entry, "output_cost_per_token")
    if per_token:
        tokens = _IMAGE_TOKENS.get(quality or "high", _IMAGE_TOKENS["high"])
        scaled = tokens * _pixels(size) / (1024 * 1024)
        return scaled * per_token + max(1, len(prompt) // 4) * _rate(entry, "input_cost_per_token")
    return None


def _size_row(key: str) -> Mapping[str, Any]:
    # litellm's get_model_info reads the first part of "hd/1024-x-1024/..." as a provider
    # and fails; the map itself has the row.
    from llmdoor.runtime import _litellm

    row = _litellm().model_cost.get(key)
    return row if isinstance(row, dict) else catalog.map_entry(key) or {}


def image_cost_from_usage(model_id: str, usage: Any) -> float | None:
    """The cost of a token-priced image call from the usage the vendor reported."""
    entry = entry_of(model_id)
    out_rate = _rate(entry, "output_cost_per_image_token") or _rate(entry, "output_cost_per_token")
    output = getattr(usage, "output_tokens", None) or 0
    text_in = getattr(usage, "input_tokens", None) or 0
    if not output or not out_rate:
        return None
    return float(output) * out_rate + float(text_in) * _rate(entry, "input_cost_per_token")


def priced_per_token(model_id: str) -> bool:
    """Token-priced image models: a per-image figure for them is an estimate."""
    return bool(_rate(entry_of(model_id), "output_cost_per_image_token"))
