"""The localized sentences of voice, documents and pictures, one function per outcome."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from app.bot.rendering.error_messages import describe_llm_error
from app.services.media.service import AudioRefusal, Feature
from llmdoor import (
    DocumentBusy,
    DocumentEncrypted,
    DocumentError,
    DocumentTooComplex,
    DocumentTooLarge,
    DocumentUnreadable,
    LLMError,
    UnsupportedDocument,
)

# Telegram's message limit is 4096; the quote leaves room for the markup around it.
MAX_QUOTED_CHARS = 3500


def feature_unavailable(feature: Feature) -> str:
    return {
        Feature.TRANSCRIPTION: _("🎙 Voice messages aren't available on this bot. Please type."),
        Feature.SPEECH: _("🔇 Spoken replies aren't available on this bot."),
        Feature.IMAGE: _("🖼 Drawing pictures isn't available on this bot."),
    }[feature]


def audio_refused(refusal: AudioRefusal, max_seconds: int, max_mb: float) -> str:
    if refusal is AudioRefusal.TOO_LONG:
        return _(
            "🎙 This recording is too long: I transcribe up to {seconds} seconds. "
            "Please send a shorter one."
        ).format(seconds=max_seconds)
    return _("🎙 This recording is too large: I accept up to {mb} MB.").format(mb=f"{max_mb:g}")


def audio_unreadable() -> str:
    return _(
        "🎙 I couldn't play this recording: it doesn't look like audio. Please record it again."
    )


def quoted_transcript(text: str) -> str:
    """HTML: the transcript as a quote (expandable when long), cut for display only."""
    shown = text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"
    tag = "blockquote expandable" if len(shown) > 300 else "blockquote"
    return f"🎙 <{tag}>{html.escape(shown)}</blockquote>"


def nothing_heard() -> str:
    return _("🎙 I couldn't make out any words in this recording.")


def download_failed() -> str:
    return _("I couldn't download this file from Telegram. Please send it again.")


def document_too_large(max_mb: float) -> str:
    return _("📄 This file is too large: I read files up to {mb} MB.").format(mb=f"{max_mb:g}")


def document_error(error: LLMError) -> str:
    if isinstance(error, DocumentEncrypted):
        return _("🔒 This document is protected by a password. Send a copy without one.")
    if isinstance(error, DocumentTooLarge):
        return document_too_large(error.limit / (1024 * 1024))
    if isinstance(error, DocumentBusy):
        return _(
            "📄 I'm still reading your other files (up to {count} at a time). "
            "Send this one again when they're done."
        ).format(count=error.limit)
    if isinstance(error, DocumentTooComplex):
        if error.reason == "memory":
            return _("📄 This file needs too much memory to read. Try a smaller or simpler one.")
        return _(
            "📄 This file unpacks to far more than its size (an archive bomb?), so I won't "
            "open it. Try a smaller or simpler one."
        )
    if isinstance(error, UnsupportedDocument):
        return _(
            "📄 I can't read this kind of file. I read PDF, DOCX, XLSX, TXT, Markdown, CSV, "
            "HTML and source code."
        )
    if isinstance(error, DocumentUnreadable):
        if error.reason == "no_text":
            return _("📄 I found no text in this document (is it a scanned image?).")
        if error.reason == "timeout":
            return _("📄 Reading this document took too long. Try a smaller one.")
        return _("📄 This file is damaged: I couldn't read it. Check it and send it again.")
    if isinstance(error, DocumentError):
        return _("📄 I couldn't read this document.")
    return describe_llm_error(error)


def document_cut(pages_read: int | None, pages: int | None) -> str:
    if pages_read is not None and pages is not None and pages_read < pages:
        return _(
            "✂️ The document is long: I read the first {read} of {pages} pages, and only "
            "what fits the model's context."
        ).format(read=pages_read, pages=pages)
    return _("✂️ The document is long: I read only the part that fits the model's context.")


def summarize_request() -> str:
    return _("Summarize this document briefly.")


def image_usage() -> str:
    return _("Write what to draw after the command, e.g. /image a lighthouse at dawn")


def voice_usage(on: bool) -> str:
    state = _("on") if on else _("off")
    return _(
        "Spoken replies are {state}. /voice on: answers to your voice messages also come "
        "as voice; /voice off: text only."
    ).format(state=state)


def voice_set(on: bool) -> str:
    if on:
        return _("🔊 Spoken replies on: I'll answer your voice messages with voice too.")
    return _("🔇 Spoken replies off: text only.")


def help_lines(features: frozenset[Feature], *, escape: bool = True) -> list[str]:
    lines = []
    if Feature.TRANSCRIPTION in features:
        lines.append(_("🎙 Send a voice message: I'll transcribe it and answer."))
    lines.append(_("📄 Send a PDF, DOCX, text or code file with a question in the caption."))
    lines.append(_("🖼 Send a photo with a question: models that see images look at it."))
    lines.append(_("🔎 With /tools on, I search the web and read pages when a question needs it."))
    lines.append(
        _(
            "👥 In a group I answer when mentioned or replied to; each forum topic is a "
            "conversation of its own."
        )
    )
    # The text /help is HTML: "<prompt>" must show as text (the rich one takes them plain).
    return [html.escape(line, quote=False) for line in lines] if escape else lines


def storage_down() -> str:
    return _("⚠️ I can't save settings right now. Please try again in a few minutes.")
