"""app.llm: query any LLM by shortcut, sync or async, text/raw/structured/streamed.

Importing this package does not import litellm (~4 s); that happens on the first call,
or earlier via `warm_up()` from a background thread.
"""

from __future__ import annotations

from app.llm._litellm import aclose, ensure_loaded, warm_up
from app.llm.access import AccessPolicy, AccessSettings, Caller, CallerResolver, Role
from app.llm.api import (
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
from app.llm.budget import BudgetGuard, BudgetHold, Unlimited
from app.llm.catalog import ModelInfo
from app.llm.default import get_default_provider, set_default_provider
from app.llm.documents import DocumentText, cut_to_tokens
from app.llm.errors import (
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
from app.llm.events import (
    ReasoningDelta,
    StreamEvent,
    StreamFinished,
    TextComplete,
    TextDelta,
    ToolCall,
    ToolFinished,
    ToolStarted,
)
from app.llm.images import GeneratedImage
from app.llm.media_api import (
    agenerate_image,
    aread_document,
    aspeak,
    atranscribe,
    generate_image,
    read_document,
    speak,
    transcribe,
)
from app.llm.media_call import MediaOptions
from app.llm.media_models import MEDIA_SHORTCUTS
from app.llm.media_settings import MediaSettings
from app.llm.messages import Attachment, ChatMessage
from app.llm.options import QueryOptions
from app.llm.provider import LLMProvider
from app.llm.settings import LLMSettings
from app.llm.shortcuts import BUILTIN_SHORTCUTS
from app.llm.speech import SpeechAudio
from app.llm.tools import Source, Tool, ToolOutput, supports_tools, tool
from app.llm.transcription import Transcript
from app.llm.usage import InMemoryUsageSink, UsageEvent, UsageSink

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
