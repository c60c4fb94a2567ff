"""llmdoor: query any LLM by shortcut, sync or async, text/raw/structured/streamed.

Importing this package does not import litellm (~4 s); that happens on the first call,
or earlier via `warm_up()` from a background thread.
"""

from __future__ import annotations

from llmdoor.access import AccessPolicy, AccessSettings, Caller, CallerResolver, Role
from llmdoor.api import (
    aquery_llm,
    aquery_llm_events,
    aquery_llm_raw,
    aquery_llm_stream,
    aquery_llm_structured,
    aquery_llm_text,
    fit_history,
    list_models,
    model_context_window,
    query_llm,
    query_llm_events,
    query_llm_raw,
    query_llm_stream,
    query_llm_structured,
    query_llm_text,
    resolve_model,
    supports_vision,
)
from llmdoor.budget import BudgetGuard, BudgetHold, Unlimited
from llmdoor.calls.runtime import aclose, ensure_loaded, warm_up
from llmdoor.default import get_default_provider, set_default_provider
from llmdoor.errors import (
    AccessDenied,
    AuthError,
    BadRequest,
    BudgetExceeded,
    BudgetUnavailable,
    ContentFiltered,
    ContextTooLong,
    DocumentEncrypted,
    DocumentError,
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
from llmdoor.media.api import (
    agenerate_image,
    aread_document,
    aspeak,
    atranscribe,
    generate_image,
    read_document,
    speak,
    transcribe,
)
from llmdoor.media.call import MediaOptions
from llmdoor.media.documents import DocumentText, cut_to_tokens
from llmdoor.media.images import GeneratedImage
from llmdoor.media.models import MEDIA_SHORTCUTS
from llmdoor.media.settings import MediaSettings
from llmdoor.media.speech import SpeechAudio
from llmdoor.media.transcription import Transcript
from llmdoor.messages import Attachment, ChatMessage
from llmdoor.models.catalog import ModelInfo
from llmdoor.models.shortcuts import BUILTIN_SHORTCUTS
from llmdoor.options import QueryOptions
from llmdoor.provider import LLMProvider
from llmdoor.settings import LLMSettings
from llmdoor.tools import Source, Tool, ToolOutput, supports_tools, tool
from llmdoor.usage import InMemoryUsageSink, UsageEvent, UsageSink

__all__ = [
    "BUILTIN_SHORTCUTS",
    "MEDIA_SHORTCUTS",
    "AccessDenied",
    "AccessPolicy",
    "AccessSettings",
    "Attachment",
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "BudgetGuard",
    "BudgetHold",
    "BudgetUnavailable",
    "Caller",
    "CallerResolver",
    "ChatMessage",
    "ContentFiltered",
    "ContextTooLong",
    "DocumentEncrypted",
    "DocumentError",
    "DocumentText",
    "DocumentTooLarge",
    "DocumentUnreadable",
    "EmptyResponse",
    "GeneratedImage",
    "InMemoryUsageSink",
    "LLMError",
    "LLMProvider",
    "LLMSettings",
    "LLMTimeout",
    "MediaOptions",
    "MediaSettings",
    "ModelInfo",
    "ProviderUnavailable",
    "QueryOptions",
    "RateLimited",
    "ReasoningDelta",
    "Role",
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
    "aspeak",
    "atranscribe",
    "cut_to_tokens",
    "ensure_loaded",
    "fit_history",
    "generate_image",
    "get_default_provider",
    "list_models",
    "model_context_window",
    "query_llm",
    "query_llm_events",
    "query_llm_raw",
    "query_llm_stream",
    "query_llm_structured",
    "query_llm_text",
    "read_document",
    "resolve_model",
    "set_default_provider",
    "speak",
    "supports_tools",
    "supports_vision",
    "tool",
    "transcribe",
    "warm_up",
]
