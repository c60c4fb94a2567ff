"""llmdoor: query any LLM by shortcut, sync or async, text/raw/structured/streamed.

Importing this package does not import litellm (~4 s); that happens on the first call,
or earlier via `warm_up()` from a background thread. The built-in web tools load aiohttp
(~0.4 s), so ``builtin_tools`` is imported on first use too.

Everything public is exported here; the submodules are internal and may move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmdoor.access import AccessPolicy, AccessSettings, Caller, CallerResolver, Role
from llmdoor.api import (
    agenerate_image,
    aquery_llm,
    aquery_llm_events,
    aquery_llm_raw,
    aquery_llm_stream,
    aquery_llm_structured,
    aquery_llm_text,
    aread_document,
    aspeak,
    atranscribe,
    fit_history,
    generate_image,
    list_models,
    model_context_window,
    query_llm,
    query_llm_events,
    query_llm_raw,
    query_llm_stream,
    query_llm_structured,
    query_llm_text,
    read_document,
    resolve_model,
    speak,
    supports_vision,
    transcribe,
)
from llmdoor.budget import NO_HOLD, BudgetGuard, BudgetHold, Unlimited
from llmdoor.default import get_default_provider, set_default_provider
from llmdoor.errors import (
    AccessDenied,
    AudioError,
    AudioTooLong,
    AudioUnreadable,
    AuthError,
    BadRequest,
    BudgetExceeded,
    BudgetUnavailable,
    ContentFiltered,
    ContextTooLong,
    DocumentBusy,
    DocumentEncrypted,
    DocumentError,
    DocumentTooComplex,
    DocumentTooLarge,
    DocumentUnreadable,
    EmptyResponse,
    LLMError,
    LLMTimeout,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    StructuredOutputError,
    UnknownModel,
    UnsupportedDocument,
    VisionNotSupported,
)
from llmdoor.events import (
    ReasoningDelta,
    StreamEvent,
    StreamFinished,
    TextComplete,
    TextDelta,
    ToolCall,
    ToolFinished,
    ToolStarted,
)
from llmdoor.media.audio_format import EXTENSIONS as AUDIO_EXTENSIONS
from llmdoor.media.call import MediaOptions
from llmdoor.media.documents import DocumentText, cut_to_tokens
from llmdoor.media.images import GeneratedImage
from llmdoor.media.models import MEDIA_SHORTCUTS, MediaKind, is_media_priced, resolve_media_model
from llmdoor.media.settings import MediaSettings
from llmdoor.media.speech import SpeechAudio
from llmdoor.media.transcription import Transcript
from llmdoor.messages import TOOL_KEYS, Attachment, ChatMessage
from llmdoor.models.catalog import (
    ModelInfo,
    is_available,
    is_known_provider,
    litellm_knows_provider,
)
from llmdoor.models.catalog import list_for as list_models_for
from llmdoor.models.gateway import catalog_for as gateway_catalog
from llmdoor.models.gateway import gateway_shortcuts
from llmdoor.models.gateway import known as known_gateway
from llmdoor.models.pricing import has_price, rate_for
from llmdoor.models.setup_hint import SetupHint, setup_hint
from llmdoor.models.shortcuts import BUILTIN_SHORTCUTS, merged_shortcuts
from llmdoor.models.shortcuts import resolve_model as resolve_shortcut
from llmdoor.options import QueryOptions
from llmdoor.provider import LLMProvider
from llmdoor.runtime import _litellm as litellm_module
from llmdoor.runtime import aclose, ensure_loaded
from llmdoor.settings import LLMSettings
from llmdoor.tools import Source, Tool, ToolOutput, as_tool, sources_in, supports_tools, tool
from llmdoor.tools.mcp import MCPManager, load_servers_file
from llmdoor.tools.settings import ToolSettings, tool_settings_problems
from llmdoor.usage import CallKind, InMemoryUsageSink, UsageEvent, UsageSink
from llmdoor.usage import combined as combine_usage
from llmdoor.warm import warm_up

if TYPE_CHECKING:
    from llmdoor.tools.web import builtin_tools


def __getattr__(name: str) -> Any:
    if name == "builtin_tools":
        from llmdoor.tools.web import builtin_tools

        return builtin_tools
    raise AttributeError(f"module 'llmdoor' has no attribute {name!r}")


__all__ = [
    "AUDIO_EXTENSIONS",
    "BUILTIN_SHORTCUTS",
    "MEDIA_SHORTCUTS",
    "NO_HOLD",
    "TOOL_KEYS",
    "AccessDenied",
    "AccessPolicy",
    "AccessSettings",
    "Attachment",
    "AudioError",
    "AudioTooLong",
    "AudioUnreadable",
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetHold",
    "BudgetUnavailable",
    "CallKind",
    "Caller",
    "CallerResolver",
    "ChatMessage",
    "ContentFiltered",
    "ContextTooLong",
    "DocumentBusy",
    "DocumentEncrypted",
    "DocumentError",
    "DocumentText",
    "DocumentTooComplex",
    "DocumentTooLarge",
    "DocumentUnreadable",
    "EmptyResponse",
    "GeneratedImage",
    "InMemoryUsageSink",
    "LLMError",
    "LLMProvider",
    "LLMSettings",
    "LLMTimeout",
    "MCPManager",
    "MediaKind",
    "MediaOptions",
    "MediaSettings",
    "ModelInfo",
    "ProviderUnavailable",
    "QueryOptions",
    "RateLimited",
    "ReasoningDelta",
    "Role",
    "SetupHint",
    "Source",
    "SpeechAudio",
    "StreamEvent",
    "StreamFinished",
    "StreamInterrupted",
    "StructuredOutputError",
    "TextComplete",
    "TextDelta",
    "Tool",
    "ToolCall",
    "ToolFinished",
    "ToolOutput",
    "ToolSettings",
    "ToolStarted",
    "Transcript",
    "UnknownModel",
    "Unlimited",
    "UnsupportedDocument",
    "UsageEvent",
    "UsageSink",
    "VisionNotSupported",
    "aclose",
    "agenerate_image",
    "aquery_llm",
    "aquery_llm_events",
    "aquery_llm_raw",
    "aquery_llm_stream",
    "aquery_llm_structured",
    "aquery_llm_text",
    "aread_document",
    "as_tool",
    "aspeak",
    "atranscribe",
    "builtin_tools",
    "combine_usage",
    "cut_to_tokens",
    "ensure_loaded",
    "fit_history",
    "gateway_catalog",
    "gateway_shortcuts",
    "generate_image",
    "get_default_provider",
    "has_price",
    "is_available",
    "is_known_provider",
    "is_media_priced",
    "known_gateway",
    "list_models",
    "list_models_for",
    "litellm_knows_provider",
    "litellm_module",
    "load_servers_file",
    "merged_shortcuts",
    "model_context_window",
    "query_llm",
    "query_llm_events",
    "query_llm_raw",
    "query_llm_stream",
    "query_llm_structured",
    "query_llm_text",
    "rate_for",
    "read_document",
    "resolve_media_model",
    "resolve_model",
    "resolve_shortcut",
    "set_default_provider",
    "setup_hint",
    "sources_in",
    "speak",
    "supports_tools",
    "supports_vision",
    "tool",
    "tool_settings_problems",
    "transcribe",
    "warm_up",
]
