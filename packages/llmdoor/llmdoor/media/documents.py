"""Reading documents into Markdown (llmdoor.media.formats does the formats), with caps
on size, pages and time, and the same access rule and one usage event (kind "document")
as every other call. Reading is local: it costs nothing and reserves nothing.

Files are parsed in a child process (llmdoor.media.isolation), killed at the timeout and
held to a memory limit, never in a thread of this process: a hostile file is stopped, not
abandoned, and cannot take the threads other calls need. Small plain text is decoded here.
Each caller may have ``document_per_user`` files being read at once.

The rule for events: a caller refused access gets ``AccessDenied`` and nothing is
recorded (as for every call); once access is granted, every outcome is recorded as one
event, "ok" or "error" with the refusal's kind: too large (checked before any parsing),
too many at once, too complex (an archive that expands too far, too much memory),
encrypted, unreadable (damaged, timed out), or unsupported.

``cut_to_tokens`` fits a text into a token budget, for callers that put a document into
a model's context."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from llmdoor.budget import NO_HOLD
from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.recorder import Call, Charge
from llmdoor.errors import DocumentBusy, DocumentError, DocumentTooLarge
from llmdoor.media import call as media_call
from llmdoor.media import isolation
from llmdoor.media.formats import Caps, Converted, convert, detect
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
    cut: bool = False  # a cap on paragraphs, cells, sheets or characters stopped reading

    @property
    def truncated(self) -> bool:
        return self.cut or (
            self.pages is not None and self.pages_read is not None and self.pages_read < self.pages
        )


# Plain text and code up to this size are only decoded: done here, not in a child.
INLINE_TEXT_BYTES = 256 * 1024
# Files being read now, per caller (user id).
_reading: Counter[int] = Counter()


def caps_of(media: MediaSettings, max_pages: int) -> Caps:
    return Caps(
        max_pages=max_pages,
        max_expanded_bytes=media.document_max_expanded_bytes,
        max_ratio=media.document_max_ratio,
        max_entries=media.document_max_entries,
        max_paragraphs=media.document_max_paragraphs,
        max_cells=media.document_max_cells,
        max_sheets=media.document_max_sheets,
        max_chars=media.document_max_chars,
    )


async def _convert(
    media: MediaSettings, data: bytes, mime_type: str | None, filename: str | None, caps: Caps
) -> Converted:
    if len(data) <= INLINE_TEXT_BYTES and detect(data, mime_type, filename) in ("text", "code"):
        return convert(data, mime_type, filename, caps)
    limits = isolation.Limits(
        timeout=media.document_timeout, memory_bytes=media.document_memory_mb * 1024 * 1024
    )
    pool = isolation.runner(media.document_workers)
    # ``convert`` is looked up here, so a test may replace it (with a module-level function).
    converted: Converted = await pool.run(convert, (data, mime_type, filename, caps), limits)
    return converted


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
    caps = caps_of(media, max_pages or media.document_max_pages)
    user = caller.user_id
    if user is not None and _reading[user] >= media.document_per_user:
        busy = DocumentBusy(
            f"{_reading[user]} documents are being read; the limit is {media.document_per_user}.",
            limit=media.document_per_user,
        )
        await _refused(pipeline, call, busy)
        raise busy
    if user is not None:
        _reading[user] += 1
    try:
        converted = await _convert(media, data, mime_type, filename, caps)
    except DocumentError as err:
        await _refused(pipeline, call, err)
        raise
    finally:
        if user is not None:
            _reading[user] -= 1
            if _reading[user] <= 0:
                del _reading[user]
    call.model_id = f"local/{converted.converter}"
    await pipeline.recorder.finish(call, "ok", charge=Charge(0, 0, 0.0, 0.0))
    return DocumentText(
        markdown=converted.markdown,
        format=converted.format,
        filename=filename,
        pages=converted.pages,
        pages_read=converted.pages_read,
        usage=call.event,
        cut=converted.cut,
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
