"""Translate litellm/openai exceptions into llmdoor.errors, with secrets scrubbed."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from llmdoor import errors as e
from llmdoor.runtime import _litellm

# Things that look like API keys, whatever the vendor: sk-..., sk-ant-..., AIza..., xai-...
_KEY_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{10,}|Bearer\s+\S+)"
)


def _secret_values(extra: Iterable[str | None] = ()) -> list[str]:
    values = [v for k, v in os.environ.items() if _looks_secret_name(k) and v and len(v) >= 6]
    values += [v for v in extra if v and len(v) >= 4]
    # Longest first so a key that contains another is removed whole.
    return sorted(set(values), key=len, reverse=True)


def _looks_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper.endswith(("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_ACCESS_KEY"))


def redact(text: str, extra_secrets: Iterable[str | None] = ()) -> str:
    """Remove configured key values and key-shaped strings from text meant for logs/errors."""
    # Key-shaped tokens first, so a key that merely starts with a configured value is
    # removed whole rather than leaving its tail behind.
    text = _KEY_PATTERN.sub("***", text)
    for secret in _secret_values(extra_secrets):
        text = text.replace(secret, "***")
    return text


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header, when the provider sent one."""
    headers: Any = None
    for source in (
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if source:
            headers = source
            break
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    # A header object without .get, a value that is no number nor date, a date without a
    # time zone (naive minus aware), a date out of range.
    except (AttributeError, TypeError, ValueError, LookupError, ArithmeticError):
        return None


def map_exception(
    exc: BaseException, model: str | None, extra_secrets: Iterable[str | None] = ()
) -> e.LLMError:
    """The typed error for a litellm failure. Order matters: subclasses before parents."""
    if isinstance(exc, e.LLMError):
        return exc
    lit = _litellm()
    message = redact(_short(exc), extra_secrets)
    status = getattr(exc, "status_code", None)
    err: e.LLMError
    if isinstance(exc, lit.ContextWindowExceededError):
        err = e.ContextTooLong(message, model=model)
    elif isinstance(exc, lit.ContentPolicyViolationError):
        err = e.ContentFiltered(message, model=model)
    elif isinstance(exc, (lit.AuthenticationError, lit.PermissionDeniedError)):
        err = e.AuthError(message, model=model)
    elif isinstance(exc, lit.RateLimitError):
        err = e.RateLimited(message, model=model, retry_after=retry_after_of(exc))
    elif isinstance(exc, lit.Timeout):
        err = e.LLMTimeout(message, model=model)
    elif isinstance(
        exc,
        (
            lit.APIConnectionError,
            lit.ServiceUnavailableError,
            lit.InternalServerError,
            lit.BadGatewayError,
        ),
    ):
        err = e.ProviderUnavailable(message, model=model)
    elif isinstance(exc, (lit.BadRequestError, lit.NotFoundError, lit.UnprocessableEntityError)):
        err = e.BadRequest(message, model=model)
    elif isinstance(status, int) and status >= 500:
        err = e.ProviderUnavailable(message, model=model)
    elif isinstance(status, int) and status == 429:
        err = e.RateLimited(message, model=model, retry_after=retry_after_of(exc))
    elif isinstance(status, int) and status in (401, 403):
        err = e.AuthError(message, model=model)
    elif isinstance(status, int) and 400 <= status < 500:
        err = e.BadRequest(message, model=model)
    elif isinstance(exc, (TimeoutError,)):
        err = e.LLMTimeout(message, model=model)
    elif isinstance(exc, (ConnectionError, OSError)):
        err = e.ProviderUnavailable(message, model=model)
    else:
        err = e.ProviderUnavailable(message, model=model)
    err.status_code = status if isinstance(status, int) else None
    err.cause_type = type(exc).__name__
    return err


@contextlib.contextmanager
def typed_errors(model: str | None, extra_secrets: Iterable[str | None] = ()) -> Iterator[None]:
    """Around a call into litellm (a request, the chunks of a stream, a media call): what it
    raises leaves as the typed error :func:`map_exception` makes of it."""
    try:
        yield
    except Exception as exc:  # litellm and the vendor SDKs under it raise anything
        raise map_exception(exc, model, extra_secrets) from None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 500 else text[:500] + "…"
