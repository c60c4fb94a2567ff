"""Reading documents into Markdown (llmdoor.media.formats does the formats), with caps
on size, pages and time, and the same access rule and one usage event (kind "document")
as every other call. Reading is local: it costs nothing and reserves nothing.

The rule for events: a caller refused access gets ``AccessDenied`` and nothing is
recorded (as for every call); once access is granted, every outcome is recorded as one
event, "ok" or "error" with the refusal's kind: too large (checked before any parsing),
encrypted, unreadable, timed out or unsupported.

``cut_to_tokens`` fits a text into a token budget, for callers that put a document into
a model's context."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from llmdoor.budget import NO_HOLD
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import Call, Charge
from llmdoor.errors import DocumentError, DocumentTooLarge, DocumentUnreadable
from llmdoor.media import call as media_call
from llmdoor.media.formats import Converted, convert
from llmdoor.media.settings import MediaSettings
from llmdoor.models import pricing
from llmdoor.usage import CallKind, UsageEvent


@dataclass(frozen=True)
class DocumentText:
    markdown: str
    format: str  # "pdf", "docx", "html", "csv", "text" or "code"
    filename: str | None
    pages: int | None = None  # pages in the file, where the format has pages
    pages_read: int | None = None  # fewer than ``pages``: cut at LLM_DOCUMENT_MAX_PAGES
    usage: UsageEvent | None = None

    @property
    def truncated(self) -> bool:
        return (
            self.pages is not None and self.pages_read is not None and self.pages_read < self.pages
        )


async def read_document(
    pipeline: Pipeline,
    media: MediaSettings,
    data: bytes,
    mime_type: str | None,
    filename: str | None,
    *,
    max_pages: int | None,
    options: dict[str, Any],
) -> DocumentText:
    caller, _kwargs = await media_call.admit(pipeline, options)
    started = time.perf_counter()
    call = Call(
        caller=caller,
        model_id="local/document",
        shortcut=None,
        hold=NO_HOLD,
        reserved_usd=0.0,
        count_prompt=lambda: 0,
        count_output=lambda _text: 0,
        kind=CallKind.DOCUMENT,
        started=started,
    )
    call.attempts = 1
    if len(data) > media.document_max_bytes:
        too_large = DocumentTooLarge(
            f"The file has {len(data)} bytes; the limit is {media.document_max_bytes}.",
            size=len(data),
            limit=media.document_max_bytes,
        )
        await _refused(pipeline, call, too_large)
        raise too_large
    pages = max_pages or media.document_max_pages
    try:
        # A worker thread: parsing is CPU-bound and must not stall the event loop. The cap
        # on time bounds the wait; the page and size caps bound the work itself.
        converted: Converted = await asyncio.wait_for(
            asyncio.to_thread(convert, data, mime_type, filename, pages),
            timeout=media.document_timeout,
        )
    except TimeoutError:
        err = DocumentUnreadable("Reading the document took too long.", reason="timeout")
        await _refused(pipeline, call, err)
        raise err from None
    except DocumentError as err:
        await _refused(pipeline, call, err)
        raise
    call.model_id = f"local/{converted.converter}"
    await pipeline.recorder.finish(call, "ok", charge=Charge(0, 0, 0.0, 0.0))
    return DocumentText(
        markdown=converted.markdown,
        format=converted.format,
        filename=filename,
        pages=converted.pages,
        pages_read=converted.pages_read,
        usage=call.event,
    )


async def _refused(pipeline: Pipeline, call: Call, err: DocumentError) -> None:
    await pipeline.recorder.finish(
        call, "error", error_kind=err.kind, charge=Charge(0, 0, 0.0, 0.0)
    )


def cut_to_tokens(text: str, model_id: str, max_tokens: int) -> tuple[str, bool]:
    """The text, cut at a line or word boundary to at most ``max_tokens`` tokens of the
    model's tokenizer; True when something was cut."""
    if max_tokens <= 0:
        return "", bool(text)
    total = pricing.count_text(model_id, text)
    if total <= max_tokens:
        return text, False
    keep = int(len(text) * max_tokens / total)
    while keep > 0:
        piece = text[:keep]
        boundary = max(piece.rfind("\n"), piece.rfind(" "))
        if boundary > keep * 0.8:
            piece = piece[:boundary]
        if pricing.count_text(model_id, piece) <= max_tokens:
            return piece.rstrip(), True
        keep = int(keep * 0.9)
    return "", True
