"""/model: pick the model per user, from a dialog or directly by name."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from app.bot.dialogs.common import middleware, paged_select
from app.bot.dialogs.filters import InputWindow
from app.bot.dialogs.states import ModelSG
from app.config import Settings
from app.llm import ensure_loaded
from app.llm.access import Role
from app.llm.catalog import ModelInfo, is_available, list_models, map_entry
from app.llm.errors import UnknownModel
from app.llm.shortcuts import merged_shortcuts, resolve_model
from app.storage import Storage

log = logging.getLogger(__name__)

# Widget ids start with "m_": the expired-menu handler maps the prefix back to this dialog.
# Callback data is at most 64 bytes; the dialog adds an intent id (~10) and "m_pick:".
MAX_ID_BYTES = 40


class ModelPick(CallbackData, prefix="mpick"):
    """A suggestion button under "unknown model" replies (outside any dialog)."""

    name: str


# ---------------------------------------------------------------------------- model data


def available_models(settings: Settings) -> list[ModelInfo]:
    """Models the configured keys can reach. A gateway (LLM_API_BASE) reaches them all."""
    llm = settings.llm
    return list_models(
        available_only=True, shortcuts=llm.shortcuts, all_available=bool(llm.api_base)
    )


def usable(model_id: str, settings: Settings) -> bool:
    """Whether a call to this id can succeed with the configured keys (or a gateway)."""
    return bool(settings.llm.api_base) or is_available(model_id)


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


def _resolve_or_none(name: str, shortcuts: Mapping[str, str]) -> str | None:
    try:
        return resolve_model(name, shortcuts)
    except UnknownModel:
        return None


async def current_model(storage: Storage, settings: Settings, user_id: int) -> str:
    """The user's chosen model name (as stored), else the configured default. Read from
    storage rather than the per-update ``user_record`` so a pick shows at once."""
    record = await storage.users.get(user_id)
    return (record.model if record else None) or settings.llm.default_model


def storable_name(name: str, model_id: str, shortcuts: Mapping[str, str]) -> str:
    """Keep the shortcut when the user used one (stable across litellm renames)."""
    key = name.strip().lower()
    return key if key in merged_shortcuts(shortcuts) else model_id


# ---------------------------------------------------------------------------- dialog


def _user(manager: DialogManager) -> User:
    user: User = middleware(manager, "event_from_user")
    return user


async def _base(manager: DialogManager) -> tuple[list[ModelInfo], str, str | None]:
    storage: Storage = middleware(manager, "storage")
    settings: Settings = middleware(manager, "settings")
    models = available_models(settings)
    current = await current_model(storage, settings, _user(manager).id)
    return models, current, _resolve_or_none(current, settings.llm.shortcuts)


async def providers_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    await ensure_loaded()
    settings: Settings = middleware(dialog_manager, "settings")
    models, current, current_id = await _base(dialog_manager)
    counts: dict[str, int] = {}
    for m in models:
        counts[m.provider] = counts.get(m.provider, 0) + 1
    current_provider = next((m.provider for m in models if m.model_id == current_id), None)
    providers = [
        {
            "id": p,
            "label": (
                _("✅ {provider} ({count})") if p == current_provider else _("{provider} ({count})")
            ).format(provider=p, count=n),
        }
        for p, n in counts.items()
    ]
    if models:
        text = _("Current model: {model}\n\nChoose a provider:").format(model=current)
    else:
        text = _(
            "No model is available: no provider API key is configured, so the bot uses "
            "the default model {model}. Ask the bot owner to add an API key."
        ).format(model=settings.llm.default_model)
    return {"text": text, "providers": providers, "btn_close": _("Close")}


async def models_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    await ensure_loaded()
    models, current, current_id = await _base(dialog_manager)
    provider = dialog_manager.dialog_data.get("provider")
    items = [
        {"id": item_id(m, i), "label": model_label(m, m.model_id == current_id)}
        for i, m in enumerate(models)
        if m.provider == provider
    ]
    text = _("Provider: {provider}\nCurrent model: {model}\n\nChoose a model:").format(
        provider=provider, model=current
    )
    return {"text": text, "models": items, "btn_back": _("‹ Back"), "btn_close": _("Close")}


async def done_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    picked = dialog_manager.dialog_data.get("picked", "")
    return {
        "text": _("Model set to {model}.").format(model=picked),
        "btn_again": _("Choose another model"),
        "btn_close": _("Close"),
    }


async def on_provider(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, provider: str
) -> None:
    manager.dialog_data["provider"] = provider
    await manager.switch_to(ModelSG.models)


async def on_model(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, name: str
) -> None:
    storage: Storage = middleware(manager, "storage")
    settings: Settings = middleware(manager, "settings")
    # Callback data is client-controlled: accept only a model on the current list.
    models = available_models(settings)
    info = next((m for i, m in enumerate(models) if item_id(m, i) == name), None)
    if info is None:
        await callback.answer(_("This model is no longer available."), show_alert=True)
        return
    name = info.shortcut or info.model_id
    await storage.users.set_model(_user(manager).id, name)
    manager.dialog_data["picked"] = name
    await manager.switch_to(ModelSG.done)  # a callback: the same message is edited


def model_dialog() -> Dialog:
    dialog = Dialog(
        Window(
            Format("{text}"),
            paged_select("m_prov", "providers", on_provider, width=2),
            Cancel(Format("{btn_close}"), id="m_close"),
            state=ModelSG.providers,
            getter=providers_getter,
        ),
        Window(
            Format("{text}"),
            paged_select("m_pick", "models", on_model),
            Row(
                SwitchTo(Format("{btn_back}"), id="m_back", state=ModelSG.providers),
                Cancel(Format("{btn_close}"), id="m_close"),
            ),
            state=ModelSG.models,
            getter=models_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                SwitchTo(Format("{btn_again}"), id="m_again", state=ModelSG.providers),
                Cancel(Format("{btn_close}"), id="m_close"),
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


def _priced(model_id: str) -> bool:
    entry = map_entry(model_id) or {}
    return bool(entry.get("input_cost_per_token") or entry.get("output_cost_per_token"))


async def cmd_model(
    message: Message,
    command: CommandObject,
    dialog_manager: DialogManager,
    storage: Storage,
    settings: Settings,
    role: Role,
) -> None:
    await ensure_loaded()  # the catalog reads litellm's model map: not on the event loop
    name = (command.args or "").strip()
    if not name:
        await dialog_manager.start(ModelSG.providers, mode=StartMode.RESET_STACK)
        return
    assert message.from_user is not None  # a command always has a sender
    shortcuts = settings.llm.shortcuts
    try:
        model_id = resolve_model(name, shortcuts)
    except UnknownModel as exc:
        # A name that cannot travel in callback data (":" or too long) is not offered.
        names = [n for n in exc.suggestions if ":" not in n and len(n.encode()) <= MAX_ID_BYTES]
        if names:
            await message.answer(
                _("Unknown model {name}. Did you mean one of these?").format(name=exc.name),
                reply_markup=_suggestions_keyboard(names),
            )
        else:
            await message.answer(
                _("Unknown model {name}. Send /model to see the available models.").format(
                    name=exc.name
                )
            )
        return
    stored = storable_name(name, model_id, shortcuts)
    if (
        role is not Role.ADMIN
        and stored not in merged_shortcuts(shortcuts)
        and not _priced(model_id)
    ):
        # A model litellm has no price for would escape daily budgets and could point at
        # endpoints on the bot's host (ollama/..., hosted_vllm/...): admins only.
        await message.answer(
            _("Model {model} is not in the catalog. Pick one with /model.").format(model=stored)
        )
        return
    if not usable(model_id, settings):
        await message.answer(
            _("Model {model} is not available: its provider has no API key configured.").format(
                model=stored
            )
        )
        return
    await storage.users.set_model(message.from_user.id, stored)
    await message.answer(_("Model set to {model}.").format(model=stored))


async def on_suggestion(
    callback: CallbackQuery, callback_data: ModelPick, storage: Storage, settings: Settings
) -> None:
    shortcuts = settings.llm.shortcuts
    name = callback_data.name.strip().lower()
    # Suggestions are always shortcuts; anything else in the data was forged or is stale.
    model_id = _resolve_or_none(name, shortcuts) if name in merged_shortcuts(shortcuts) else None
    if model_id is None or not usable(model_id, settings):
        log.warning("model: rejected suggestion callback %r from %s", name, callback.from_user.id)
        await callback.answer(_("Unknown model."), show_alert=True)
        return
    await storage.users.set_model(callback.from_user.id, name)
    text = _("Model set to {model}.").format(model=name)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=None)
    await callback.answer(text)


def create_model_router() -> Router:
    router = Router(name="model-dialog")
    router.message.register(cmd_model, Command("model"))
    router.callback_query.register(on_suggestion, ModelPick.filter())
    router.include_router(model_dialog())
    return router


__all__ = [
    "ModelPick",
    "available_models",
    "create_model_router",
    "model_dialog",
    "model_label",
]
