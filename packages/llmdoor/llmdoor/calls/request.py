"""Preparing one chat request: access -> model -> vision -> max_tokens cap -> budget
reservation -> the keyword arguments for litellm. Everything decided before the first byte
goes out; a refusal here spends nothing and records nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import Call
from llmdoor.errors import UnknownModel, VisionNotSupported
from llmdoor.messages import ChatMessage, build_messages
from llmdoor.models import catalog, gateway, pricing
from llmdoor.models.shortcuts import resolve_model, shortcut_for
from llmdoor.options import OwnOptions
from llmdoor.runtime import ensure_loaded
from llmdoor.settings import LLMSettings
from llmdoor.usage import CallKind


@dataclass
class ChatRequest:
    call: Call
    kwargs: dict[str, Any]  # for litellm.completion / acompletion


async def resolve_name(name: str, settings: LLMSettings) -> str:
    """A shortcut or id -> the litellm id, discovering the gateway's models if need be."""
    return await _resolve(name, settings)


async def _resolve(name: str, settings: LLMSettings) -> str:
    try:
        return resolve_model(name, gateway.gateway_shortcuts(settings))
    except UnknownModel:
        found = gateway.catalog_for(settings)
        if found is None:
            raise
    # A name only the gateway knows, before (or long after) its last discovery.
    await found.ensure_fresh(settings.gateway_cache_seconds)
    return resolve_model(name, gateway.gateway_shortcuts(settings))


async def prepare_chat(
    pipeline: Pipeline,
    prompt: str,
    model: str | None,
    own: OwnOptions,
    passthrough: Mapping[str, Any],
    *,
    stream: bool,
    extra_messages: Sequence[ChatMessage] = (),
) -> ChatRequest:
    """``extra_messages`` follow the prompt: the tool loop's calls and results so far."""
    settings = pipeline.settings
    await ensure_loaded()
    caller = await pipeline.admit(own)
    name = model or settings.default_model
    model_id = await _resolve(name, settings)
    attachments = own.get("attachments")
    if attachments and catalog.vision_flag(model_id) is False:
        # Only refuse when litellm positively knows; custom models get the benefit of
        # the doubt and the provider's own error if they cannot see.
        raise VisionNotSupported(f"{name} cannot read images.", model=model_id)
    max_tokens = pipeline.max_tokens_for(caller, own.get("max_tokens"))
    messages = build_messages(
        prompt, own.get("system_message"), own.get("chat_history"), attachments
    )
    messages += [dict(m) for m in extra_messages]
    timeout = own.get("timeout")
    kwargs: dict[str, Any] = {
        "model": model_id,
        "messages": messages,
        "timeout": timeout if timeout is not None else settings.timeout,
        # Our retry policy is the only one: litellm's and the OpenAI SDK's are off.
        "num_retries": 0,
        "max_retries": 0,
        # Parameters a model rejects (e.g. temperature on reasoning models) are
        # dropped rather than failing the user's message.
        "drop_params": True,
    }
    temperature = own.get("temperature")
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    if settings.api_base and "api_base" not in passthrough and "base_url" not in passthrough:
        kwargs["api_base"] = settings.api_base
    if settings.api_key is not None and "api_key" not in passthrough:
        kwargs["api_key"] = settings.api_key.get_secret_value()
    if stream:
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
    kwargs.update(passthrough)
    if not caller.is_admin and max_tokens is not None:
        kwargs["max_tokens"] = max_tokens  # a passthrough must not lift the cap
    shortcut = name.lower() if name.lower() != model_id else shortcut_for(model_id)
    call = await pipeline.open(
        caller,
        model_id,
        shortcut,
        count_prompt=lambda: pricing.count_messages(model_id, messages),
        output_tokens=max_tokens,
        streamed=stream,
        secrets=(kwargs.get("api_key"),),
    )
    call.observer = own.get("on_usage")
    call.kind = own.get("kind") or CallKind.CHAT
    return ChatRequest(call=call, kwargs=kwargs)
