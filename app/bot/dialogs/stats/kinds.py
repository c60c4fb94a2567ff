"""/stats per kind of call (CallKind): chat, transcription, speech, image, document."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _

from app.bot.dialogs.common import fmt_cost
from app.storage import KindUsage
from llmdoor import CallKind


def kind_label(kind: CallKind) -> str:
    labels = {
        CallKind.CHAT: _("Chat"),
        CallKind.TRANSCRIPTION: _("Transcription"),
        CallKind.SPEECH: _("Speech"),
        CallKind.IMAGE: _("Images"),
        CallKind.DOCUMENT: _("Documents"),
        CallKind.SUMMARY: _("Summaries"),
    }
    return labels.get(kind, kind.value)


def kind_lines(rows: Sequence[KindUsage]) -> str:
    """One line per kind; empty when all usage is chat (nothing to break down)."""
    if not rows or [r.kind for r in rows] == [CallKind.CHAT]:
        return ""
    return "\n".join(
        _("{kind}: {requests} requests ({errors} errors), {cost}").format(
            kind=kind_label(r.kind), requests=r.requests, errors=r.errors, cost=fmt_cost(r)
        )
        for r in rows
    )
