"""One short, localized sentence per model error, saying what the user can do about it."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from llmdoor import (
    BudgetExceeded,
    BudgetUnavailable,
    LLMError,
    RateLimited,
    UnknownModel,
    VisionNotSupported,
)


def describe_llm_error(error: LLMError) -> str:
    kind = error.kind
    if isinstance(error, RateLimited):
        if error.retry_after:
            return _(
                "⏳ The model is overloaded right now. Try again in {seconds} seconds."
            ).format(seconds=max(1, round(error.retry_after)))
        return _("⏳ The model is overloaded right now. Try again in a minute.")
    if isinstance(error, BudgetUnavailable):
        return _("💸 I can't check your daily budget right now. Please try again in a few minutes.")
    if isinstance(error, BudgetExceeded):
        if error.resets_at is not None:
            return _("💸 You have used up today's budget. It resets at {time} UTC.").format(
                time=error.resets_at.strftime("%H:%M")
            )
        return _("💸 You have used up today's budget. It resets at midnight UTC.")
    if isinstance(error, UnknownModel):
        return _(
            "🤷 The model {name} is not available any more. Pick another one with /model."
        ).format(name=error.name)
    if isinstance(error, VisionNotSupported):
        return _("🖼 This model can't read images. Pick a vision model with /model, or send text.")
    messages = {
        "auth": _("🔑 The model provider rejected the bot's API key. Please tell the bot's admin."),
        "context_too_long": _(
            "📚 This conversation is too long for the model. Send /new to start a fresh one."
        ),
        "timeout": _(
            "⌛ The model took too long to answer. Try again, or pick a faster model with /model."
        ),
        "unavailable": _(
            "🔌 The model provider is unavailable right now. Try again in a minute or pick "
            "another model with /model."
        ),
        "content_filtered": _("🚫 The provider's content filter blocked this request."),
        "bad_request": _("⚠️ The model refused this request. Try rephrasing it, or send /new."),
        "access_denied": _("You don't have access to this bot yet."),
    }
    return messages.get(kind, _("⚠️ Something went wrong with the model. Please try again."))
