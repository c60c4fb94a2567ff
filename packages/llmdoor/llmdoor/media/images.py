"""Image generation through litellm: the picture's bytes, or a URL where the vendor
answers with one."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from typing import Any

from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.transport import Transport
from llmdoor.errors import BadRequest
from llmdoor.media import call as media_call
from llmdoor.media import models as media_models
from llmdoor.media.settings import MediaSettings
from llmdoor.models.catalog import provider_of
from llmdoor.usage import CallKind, UsageEvent

MAX_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes | None  # the picture (PNG/JPEG/WebP), when the vendor sent it inline
    url: str | None  # else where to fetch it (vendors keep it for about an hour)
    revised_prompt: str | None
    model: str
    usage: UsageEvent | None = None


def openai_base_from_env(model_id: str) -> str | None:
    """OPENAI_BASE_URL or OPENAI_API_BASE for an OpenAI model, as litellm reads them."""
    if provider_of(model_id) != "openai":
        return None
    return os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or None


def _first(response: Any) -> Any:
    data = getattr(response, "data", None) or []
    return data[0] if data else None


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


async def generate_image(
    pipeline: Pipeline,
    media: MediaSettings,
    transport: Transport,
    prompt: str,
    size: str | None,
    model: str | None,
    *,
    quality: str | None,
    options: dict[str, Any],
) -> GeneratedImage:
    caller, kwargs = await media_call.admit(pipeline, options)
    model_id, shortcut = media_models.resolve_media_model(
        CallKind.IMAGE, model or media.image_model, pipeline.settings
    )
    prompt = prompt.strip()
    if not prompt or len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(f"An image needs a prompt of 1 to {MAX_PROMPT_CHARS} characters.")
    size = size or media.image_size
    # Reserved at the worst quality unless one was asked for.
    estimate = media_models.image_price(model_id, size, quality, prompt)
    call = await media_call.open_call(
        pipeline,
        caller,
        kind=CallKind.IMAGE,
        model_id=model_id,
        shortcut=shortcut,
        estimate=estimate,
        kwargs=kwargs,
    )
    kwargs.update(model=model_id, prompt=prompt, size=size, n=1)
    if "api_base" not in kwargs and "base_url" not in kwargs:
        # litellm's chat, transcription and speech read the OpenAI address from the
        # environment; its image generation does not, and would go to the vendor.
        base = openai_base_from_env(model_id)
        if base:
            kwargs["api_base"] = base
    if quality:
        kwargs["quality"] = quality

    async def request() -> Any:
        return await media_call.invoke(transport, "image_generation", kwargs)

    response = await media_call.send(pipeline, call, request)
    usage = getattr(response, "usage", None)
    cost = media_call.reported_cost(response)
    if cost is None:
        cost = media_models.image_cost_from_usage(model_id, usage)
    estimated = False
    if cost is None:
        # No usage reported: the listed price of one image at the quality asked for (or
        # the vendor's default, medium), which is what per-image models bill anyway.
        cost = media_models.image_price(model_id, size, quality or "medium", prompt)
        estimated = cost is not None and media_models.priced_per_token(model_id)
    await media_call.succeed(
        pipeline,
        call,
        cost,
        estimated=estimated,
        prompt_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "output_tokens", 0) or 0),
    )
    row = _first(response)
    data: bytes | None = None
    encoded = _field(row, "b64_json") if row is not None else None
    if encoded:
        try:
            data = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            data = None
    url = _field(row, "url") if row is not None else None
    if data is None and not url:
        raise BadRequest("The image model returned no picture.", model=model_id)
    return GeneratedImage(
        data=data,
        url=str(url) if url else None,
        revised_prompt=_field(row, "revised_prompt") if row is not None else None,
        model=model_id,
        usage=call.event,
    )
