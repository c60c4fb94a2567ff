"""/model: pick the model per user, from a dialog or directly by name.

Every way of choosing (a dialog button, ``/model <name>``, a suggestion button) goes through
``ModelService``; this module only turns its catalog and outcomes into Telegram."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Cancel, Row, SwitchTo

from app.bot.dialogs.common import clip, paged_select
from app.bot.dialogs.filters import InputWindow
from app.bot.dialogs.keys import key_from
from app.bot.dialogs.states import ModelSG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.workflow import services, update_data
from app.services.conversations.service import ConversationService
from app.services.models import (
    ModelChoice,
    ModelChosen,
    ModelRefused,
    ModelService,
    Refusal,
)
from llmdoor import ModelInfo, Role, ensure_loaded

log = logging.getLogger(__name__)

# Widget ids start with "m_": the expired-menu handler maps the prefix back to this dialog.
# Callback data is at most 64 bytes; the dialog adds an intent id (~10) and "m_pick:".
MAX_ID_BYTES = 40


class ModelPick(CallbackData, prefix="mpick"):
    """A suggestion button under "unknown model" replies (outside any dialog)."""

    name: str


# ---------------------------------------------------------------------------- labels


def item_id(info: ModelInfo, index: int) -> str:
    """The Select item id: the shortcut, or the list position when a (user-defined) name
    would push the callback data past Telegram's 64-byte limit."""
    name = info.shortcut or info.model_id
    return name if len(name.encode()) <= MAX_ID_BYTES else f"#{index}"


def _ctx(tokens: int) -> str:
    if tokens >= 1_000_000:
        return f"{round(tokens / 1_000_000, 1):g}M"
    return f"{round(tokens / 1000)}k"


def model_label(info: ModelInfo, current: bool = False) -> str:
    """'✅ gpt-4o · 128k ctx · $2.50/$10.00 per 1M' (unknown parts left out)."""
    parts = [info.shortcut or info.model_id]
    if info.context_window:
        parts.append(_("{tokens} ctx").format(tokens=_ctx(info.context_window)))
    if info.input_price_per_mtok is not None and info.output_price_per_mtok is not None:
        parts.append(
            _("${input}/${output} per 1M").format(
                input=f"{info.input_price_per_mtok:.2f}",
                output=f"{info.output_price_per_mtok:.2f}",
            )
        )
    label = " · ".join(parts)
    return f"✅ {label}" if current else label


# ---------------------------------------------------------------------------- scope


def scope_text() -> str:
    """What a pick changed: /model sets both the conversation's model and the default."""
    return _("This conversation now uses it, and new conversations will start with it.")


async def apply_to_conversation(data: dict[str, Any], name: str) -> None:
    """The active conversation (of the chat and topic the pick came from) takes the model;
    ``ModelService.choose`` already made it the user's default for new conversations."""
    conversations: ConversationService | None = data.get("conversations")
    if conversations is not None and data.get("event_chat") is not None:
        await conversations.set_model(key_from(data), name)


# ---------------------------------------------------------------------------- dialog


async def _menu(
    models: ModelService, role: Role, user: User, data: dict[str, Any]
) -> tuple[list[ModelInfo], str, str | None]:
    """The role's catalog, the model of the active conversation (else the user's default)
    and its litellm id."""
    await ensure_loaded()  # the catalog reads litellm's model map
    await models.refresh()  # a gateway's list, with a short cache
    current = await models.current(user.id)
    conversations: ConversationService | None = data.get("conversations")
    if conversations is not None and data.get("event_chat") is not None:
        conv = await conversations.active(key_from(data | {"event_from_user": user}), current)
        current = conv.model or current
    return models.catalog(role), current, models.resolved(current)


async def providers_getter(
    models: ModelService, role: Role, event_from_user: User, **_kwargs: Any
) -> dict[str, Any]:
    catalog, current, current_id = await _menu(models, role, event_from_user, _kwargs)
    counts: dict[str, int] = {}
    for m in catalog:
        counts[m.provider] = counts.get(m.provider, 0) + 1
    current_provider = next((m.provider for m in catalog if m.model_id == current_id), None)
    providers = [
        {
            "id": p,
            "label": (
                _("✅ {provider} ({count})") if p == current_provider else _("{provider} ({count})")
            ).format(provider=p, count=n),
        }
        for p, n in counts.items()
    ]
    return {
        "model": current if catalog else models.default_model,
        "has_models": bool(catalog),
        "providers": providers,
    }


async def models_getter(
    dialog_manager: DialogManager,
    models: ModelService,
    role: Role,
    event_from_user: User,
    **_kwargs: Any,
) -> dict[str, Any]:
    catalog, current, current_id = await _menu(models, role, event_from_user, _kwargs)
    provider = dialog_manager.dialog_data.get("provider")
    items = [
        {"id": item_id(m, i), "label": model_label(m, m.model_id == current_id)}
        for i, m in enumerate(catalog)
        if m.provider == provider
    ]
    return {"provider": provider, "model": current, "models": items}


async def done_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    return {"model": dialog_manager.dialog_data.get("picked", "")}


async def on_provider(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, provider: str
) -> None:
    manager.dialog_data["provider"] = provider
    await manager.switch_to(ModelSG.models)


async def on_model(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, item: str
) -> None:
    models, role = services(manager)["models"], update_data(manager)["role"]
    await ensure_loaded()
    await models.refresh()
    # Callback data is client-controlled: only an item of this role's catalog is looked up,
    # and the service validates the choice again as it would a typed name.
    catalog = models.catalog(role)
    info = next((m for i, m in enumerate(catalog) if item_id(m, i) == item), None)
    outcome = None
    if info is not None:
        outcome = await models.choose(callback.from_user.id, info.shortcut or info.model_id, role)
    if not isinstance(outcome, ModelChosen):
        await callback.answer(_("This model is no longer available."), show_alert=True)
        return
    await apply_to_conversation(manager.middleware_data, outcome.name)
    manager.dialog_data["picked"] = outcome.name
    await manager.switch_to(ModelSG.done)  # a callback: the same message is edited


def model_dialog() -> Dialog:
    close = Cancel(I18nFormat(__("Close")), id="m_close")
    dialog = Dialog(
        Window(
            I18nFormat(__("Current model: {model}\n\nChoose a provider:"), when="has_models"),
            I18nFormat(
                __(
                    "No model is available: no provider API key is configured, so the bot uses "
                    "the default model {model}. Ask the bot owner to add an API key."
                ),
                when=~F["has_models"],
            ),
            paged_select("m_prov", "providers", on_provider, width=2),
            close,
            state=ModelSG.providers,
            getter=providers_getter,
        ),
        Window(
            I18nFormat(__("Provider: {provider}\nCurrent model: {model}\n\nChoose a model:")),
            paged_select("m_pick", "models", on_model),
            Row(SwitchTo(I18nFormat(__("‹ Back")), id="m_back", state=ModelSG.providers), close),
            state=ModelSG.models,
            getter=models_getter,
        ),
        Window(
            I18nFormat(__("Model set to {model}.")),
            I18nFormat(
                __("This conversation now uses it, and new conversations will start with it.")
            ),
            Row(
                SwitchTo(
                    I18nFormat(__("Choose another model")), id="m_again", state=ModelSG.providers
                ),
                close,
            ),
            state=ModelSG.done,
            getter=done_getter,
        ),
    )
    dialog.message.filter(InputWindow())  # no typed input: chat messages fall through
    return dialog


# ---------------------------------------------------------------------------- commands


def _suggestions_keyboard(names: list[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for name in names:
        builder.button(text=name, callback_data=ModelPick(name=name))
    builder.adjust(1)
    return builder.as_markup()


def choice_reply(outcome: ModelChoice) -> tuple[str, InlineKeyboardMarkup | None]:
    """The answer to a typed choice. Names are echoed clipped: a reply must stay far below
    Telegram's 4096-character limit whatever the user typed."""
    name = clip(outcome.name)
    if isinstance(outcome, ModelChosen):
        return _("Model set to {model}.").format(model=name), None
    if isinstance(outcome, ModelRefused):
        if outcome.reason is Refusal.NO_KEY:
            text = _("Model {model} is not available: its provider has no API key configured.")
        else:
            text = _("Model {model} is not in the catalog. Pick one with /model.")
        return text.format(model=name), None
    # A name that cannot travel in callback data (":" or too long) is not offered.
    names = [n for n in outcome.suggestions if ":" not in n and len(n.encode()) <= MAX_ID_BYTES]
    if names:
        text = _("Unknown model {name}. Did you mean one of these?").format(name=name)
        return text, _suggestions_keyboard(names)
    return _("Unknown model {name}. Send /model to see the available models.").format(
        name=name
    ), None


async def cmd_model(
    message: Message,
    command: CommandObject,
    dialog_manager: DialogManager,
    models: ModelService,
    role: Role,
    **data: Any,
) -> None:
    name = (command.args or "").strip()
    if not name:
        await dialog_manager.start(ModelSG.providers, mode=StartMode.RESET_STACK)
        return
    assert message.from_user is not None  # a command always has a sender
    await ensure_loaded()  # the catalog reads litellm's model map: not on the event loop
    await models.refresh()
    outcome = await models.choose(message.from_user.id, name, role)
    text, markup = choice_reply(outcome)
    if isinstance(outcome, ModelChosen):
        await apply_to_conversation(data, outcome.name)
        text = f"{text}\n{scope_text()}"
    await message.answer(text, reply_markup=markup)


async def on_suggestion(
    callback: CallbackQuery,
    callback_data: ModelPick,
    models: ModelService,
    role: Role,
    **data: Any,
) -> None:
    await ensure_loaded()
    await models.refresh()
    outcome = await models.choose(callback.from_user.id, callback_data.name, role)
    if not isinstance(outcome, ModelChosen):
        log.warning(
            "model: rejected suggestion callback %r from %s",
            clip(callback_data.name),
            callback.from_user.id,
        )
        await callback.answer(_("Unknown model."), show_alert=True)
        return
    await apply_to_conversation(data, outcome.name)
    text = _("Model set to {model}.").format(model=clip(outcome.name))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(f"{text}\n{scope_text()}", reply_markup=None)
    await callback.answer(text)


def create_model_router() -> Router:
    router = Router(name="model-dialog")
    router.message.register(cmd_model, Command("model"))
    router.callback_query.register(on_suggestion, ModelPick.filter())
    router.include_router(model_dialog())
    return router


__all__ = [
    "ModelPick",
    "choice_reply",
    "create_model_router",
    "model_dialog",
    "model_label",
]
