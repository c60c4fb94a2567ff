"""Typed errors the bot (or any caller) can turn into messages. `kind` is a stable code."""

from __future__ import annotations

from datetime import datetime


class LLMError(Exception):
    kind: str = "error"
    # Read by the retry policy (llmdoor.calls.retry): only these errors are tried again.
    retryable: bool = False
    # Set when mapped from a provider failure; the original exception is not chained
    # (it can carry request headers), so these keep what is useful for debugging.
    status_code: int | None = None
    cause_type: str | None = None

    def __init__(self, message: str = "", *, model: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.kind)
        self.model = model


class AuthError(LLMError):
    """The provider rejected the API key."""

    kind = "auth"


class RateLimited(LLMError):
    """The provider is rate limiting us."""

    kind = "rate_limit"
    retryable = True

    def __init__(
        self, message: str = "", *, model: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, model=model)
        self.retry_after = retry_after


class ContextTooLong(LLMError):
    """The conversation does not fit the model's context window."""

    kind = "context_too_long"


class LLMTimeout(LLMError):
    """The model did not answer in time."""

    kind = "timeout"
    # Not retried: the user has already waited the whole timeout once.
    retryable = False


class ProviderUnavailable(LLMError):
    """The provider is down or unreachable."""

    kind = "unavailable"
    retryable = True


class EmptyResponse(ProviderUnavailable):
    """The provider answered with an empty body."""

    kind = "empty_response"


class BadRequest(LLMError):
    """The provider refused the request as malformed."""

    kind = "bad_request"


class ContentFiltered(BadRequest):
    """The provider refused the content."""

    kind = "content_filtered"


class AccessDenied(LLMError):
    """This user may not use the model."""

    kind = "access_denied"

    def __init__(self, message: str = "", *, user_id: int | None = None) -> None:
        super().__init__(message)
        self.user_id = user_id


class BudgetExceeded(LLMError):
    """The user's daily cost budget is spent."""

    kind = "budget"

    def __init__(
        self,
        message: str = "",
        *,
        user_id: int | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.user_id = user_id
        self.resets_at = resets_at


class BudgetUnavailable(BudgetExceeded):
    """The daily budget cannot be checked right now (its counter is unreachable), so the
    call is refused rather than risk overspending."""

    kind = "budget_unavailable"


class UnknownModel(LLMError):
    """No such model or shortcut."""

    kind = "unknown_model"

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown model {name!r}.{hint}")


class VisionNotSupported(LLMError):
    """The model cannot read images."""

    kind = "vision_unsupported"


class StructuredOutputError(LLMError):
    """The reply does not match the requested schema."""

    kind = "structured_output"

    def __init__(self, message: str = "", *, model: str | None = None, raw: str = "") -> None:
        super().__init__(message, model=model)
        self.raw = raw


class StreamInterrupted(LLMError):
    """The stream broke after some text had arrived."""

    kind = "interrupted"

    def __init__(
        self, message: str = "", *, model: str | None = None, partial_text: str = ""
    ) -> None:
        super().__init__(message, model=model)
        self.partial_text = partial_text


class AudioError(LLMError):
    """The recording is refused before any vendor call."""

    kind = "audio"


class AudioUnreadable(AudioError):
    """The bytes are not audio that can be played (measured locally)."""

    kind = "audio_unreadable"


class AudioTooLong(AudioError):
    """The recording, as measured (or as declared, when longer), is over the cap."""

    kind = "audio_too_long"

    def __init__(self, message: str = "", *, seconds: float = 0.0, limit: float = 0.0) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.limit = limit


class DocumentError(LLMError):
    """The document cannot be read."""

    kind = "document"


class DocumentEncrypted(DocumentError):
    """The document is protected by a password."""

    kind = "document_encrypted"


class DocumentUnreadable(DocumentError):
    """The document is broken, has no text layer, or took too long to read."""

    kind = "document_unreadable"

    def __init__(self, message: str = "", *, reason: str = "broken") -> None:
        super().__init__(message)
        self.reason = reason  # "broken", "no_text" or "timeout"


class UnsupportedDocument(DocumentError):
    """This kind of file is not read."""

    kind = "document_unsupported"


class DocumentTooComplex(DocumentError):
    """Reading the document would cost too much: an archive that expands too far (a zip
    bomb), or a reader that ran out of its memory."""

    kind = "document_too_complex"

    def __init__(self, message: str = "", *, reason: str = "expanded") -> None:
        super().__init__(message)
        self.reason = reason  # "expanded", "ratio", "entries" or "memory"


class DocumentBusy(DocumentError):
    """The caller already has as many documents being read as allowed at once."""

    kind = "document_busy"

    def __init__(self, message: str = "", *, limit: int = 0) -> None:
        super().__init__(message)
        self.limit = limit


class DocumentTooLarge(DocumentError):
    """The document is larger than the configured limit."""

    kind = "document_too_large"

    def __init__(self, message: str = "", *, size: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit
