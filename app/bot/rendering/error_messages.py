"""One short, localized sentence per model error, saying what the reader can do about it.
Admins (app.bot.rendering.audience) are told what to fix: the model, its provider and the
variable to check, never its value; nobody else is shown the bot's settings."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from app.bot.rendering.audience import Audience, current_audience
from llmdoor import (
    AuthError,
    BudgetExceeded,
    BudgetUnavailable,
    LLMError,
    ProviderUnavailable,
    RateLimited,
    UnknownModel,
    VisionNotSupported,
    setup_hint,
)


def describe_llm_error(error: LLMError, *, model_setting: str | None = None) -> str:
    """``model_setting``: the variable that picks the model of a call /model does not
    choose (LLM_IMAGE_MODEL for /image); such errors never point at /model."""
    audience = current_audience()
    if audience.admin:
        told = _for_admin(error, audience, model_setting)
        if told is not None:
            return told
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
    if model_setting is not None and kind in ("unknown_model", "timeout", "unavailable"):
        return _("⚠️ This isn't working right now. Please try again later.")
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


def _for_admin(error: LLMError, audience: Audience, model_setting: str | None) -> str | None:
    """What an admin can fix, or None when the error is the same for everyone."""
    model = error.model or (audience.llm.default_model if audience.llm else None)
    if isinstance(error, UnknownModel) and model_setting is not None:
        return _("🤷 The model {name} is not available: check {setting}.").format(
            name=error.name, setting=model_setting
        )
    if model is None or not isinstance(error, (AuthError, ProviderUnavailable)):
        return None
    hint = setup_hint(model, audience.llm)
    if isinstance(error, AuthError):
        if not hint.key_names:
            return _("🔑 The provider {provider} refused the call to {model}.").format(
                provider=hint.provider, model=model
            )
        text = _("🔑 The provider rejected the key for {model} ({provider}): check {names}.")
        return text.format(model=model, provider=hint.provider, names=" / ".join(hint.key_names))
    # Unreachable or failing: the address is the setting that decides where calls go.
    where = " / ".join(hint.base_names) if hint.base_names else _("the provider's status page")
    return _("🔌 {model} ({provider}) is unreachable or failing right now: check {where}.").format(
        model=model, provider=hint.provider, where=where
    )
