"""Getters, labels and button/input handlers of the /persona dialog (its windows are in
``app.bot.dialogs.persona.dialog``)."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, Chat, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Button

from app.bot.chat.threads import is_group
from app.bot.dialogs.keys import key_of
from app.bot.dialogs.states import PersonaSG
from app.bot.workflow import services, update_data
from app.services.conversations.personas import (
    MAX_NAME_CHARS,
    MAX_PROMPT_CHARS,
    PersonaProblem,
    PersonaService,
    ResolvedPersona,
)
from app.services.conversations.service import ConversationService
from app.storage import UserRecord
from llmdoor import Role

# Widget ids start with "p_": the expired-menu handler maps the prefix back to this dialog.
NONE_ITEM = "none"


def problem_text(problem: PersonaProblem) -> str:
    texts = {
        PersonaProblem.EMPTY_NAME: _("The name is empty. Send a name."),
        PersonaProblem.NAME_TOO_LONG: _("A name has at most {limit} characters.").format(
            limit=MAX_NAME_CHARS
        ),
        PersonaProblem.EMPTY_PROMPT: _("The prompt is empty. Send the prompt."),
        PersonaProblem.PROMPT_TOO_LONG: _("A prompt has at most {limit} characters.").format(
            limit=MAX_PROMPT_CHARS
        ),
        PersonaProblem.TOO_MANY: _("You have as many personas as allowed. Delete one first."),
        PersonaProblem.NOT_FOUND: _("This persona no longer exists."),
    }
    return texts[problem]


def _is_group_admin(chat: Chat, role: Role) -> bool:
    return is_group(chat) and role is Role.ADMIN


def _items(choices: list[ResolvedPersona], current: str | None) -> list[dict[str, Any]]:
    return [
        {
            "id": p.ref,
            "label": f"{'✅ ' if p.ref == current else ''}{p.name}",
            "name": p.name,
            "description": p.description or _("your persona"),
        }
        for p in choices
    ]


# ---------------------------------------------------------------------------- getters


async def main_getter(
    dialog_manager: DialogManager,
    conversations: ConversationService,
    personas: PersonaService,
    user_record: UserRecord,
    event_chat: Chat,
    role: Role,
    **_kwargs: Any,
) -> dict[str, Any]:
    key = key_of(dialog_manager)
    conv = await conversations.active(key, user_record.model)
    current = await personas.resolve(conv.persona)
    group = _is_group_admin(event_chat, role)
    default_name = ""
    if group:
        ref = await personas.chat_default(key.chat_id)
        default_name = (await personas.resolve(ref)).name
    return {
        "current": current.name,
        "items": _items(await personas.choices(key.user_id), current.ref),
        "has_own": bool(await personas.own(key.user_id)),
        "group_admin": group,
        "group_default": default_name,
        "notice": dialog_manager.dialog_data.pop("notice", ""),
    }


async def own_getter(
    dialog_manager: DialogManager, personas: PersonaService, **_kwargs: Any
) -> dict[str, Any]:
    own = await personas.own(key_of(dialog_manager).user_id)
    return {"items": _items(own, None), "notice": dialog_manager.dialog_data.pop("notice", "")}


async def item_getter(
    dialog_manager: DialogManager, personas: PersonaService, **_kwargs: Any
) -> dict[str, Any]:
    ref = dialog_manager.dialog_data.get("ref", "")
    user_id = key_of(dialog_manager).user_id
    found = await personas.may_use(user_id, ref) and ref.startswith("u:")
    persona = await personas.resolve(ref) if found else None
    return {
        "found": persona is not None,
        "missing": persona is None,
        "name": persona.name if persona else "",
        "prompt": persona.prompt if persona else "",
        "notice": dialog_manager.dialog_data.pop("notice", ""),
    }


async def group_getter(
    dialog_manager: DialogManager, personas: PersonaService, **_kwargs: Any
) -> dict[str, Any]:
    key = key_of(dialog_manager)
    current = await personas.chat_default(key.chat_id)
    items = _items(await personas.choices(key.user_id), current)
    return {"items": items, "current": (await personas.resolve(current)).name}


# ---------------------------------------------------------------------------- actions


async def on_pick(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    svc = services(manager)
    user = update_data(manager)["user_record"]
    # Callback data is client-controlled: the service accepts only built-ins and own personas.
    if not await svc["conversations"].set_persona(key_of(manager), item, user.model):
        await callback.answer(_("This persona no longer exists."), show_alert=True)
        return
    name = (await svc["personas"].resolve(item)).name
    manager.dialog_data["notice"] = _(
        "🎭 Persona set: {name}. It applies from your next message in this conversation."
    ).format(name=name)


async def on_new_name(message: Message, _w: Any, manager: DialogManager) -> None:
    name = (message.text or "").strip()
    problem = PersonaService.check_name(name)
    if problem is not None:
        await message.answer(problem_text(problem))
        return
    manager.dialog_data["new_name"] = name
    await manager.switch_to(PersonaSG.new_prompt)


async def on_new_prompt(message: Message, _w: Any, manager: DialogManager) -> None:
    svc = services(manager)
    key = key_of(manager)
    created = await svc["personas"].create(
        key.user_id, manager.dialog_data.get("new_name", ""), message.text or ""
    )
    if isinstance(created, PersonaProblem):
        await message.answer(problem_text(created))
        if created is PersonaProblem.TOO_MANY:
            await manager.switch_to(PersonaSG.main)
        return
    user = update_data(manager)["user_record"]
    await svc["conversations"].set_persona(key, created.ref, user.model)
    manager.dialog_data["notice"] = _(
        "🎭 Persona «{name}» created and set for this conversation."
    ).format(name=created.name)
    await manager.switch_to(PersonaSG.main)


async def on_own(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    manager.dialog_data["ref"] = item
    await manager.switch_to(PersonaSG.item)


async def _edit(message: Message, manager: DialogManager, field: str) -> None:
    svc = services(manager)
    text = message.text or ""
    kwargs = {field: text}
    updated = await svc["personas"].update(
        key_of(manager).user_id, manager.dialog_data.get("ref", ""), **kwargs
    )
    if isinstance(updated, PersonaProblem):
        await message.answer(problem_text(updated))
        if updated is PersonaProblem.NOT_FOUND:
            await manager.switch_to(PersonaSG.own)
        return
    manager.dialog_data["notice"] = _("Saved.")
    await manager.switch_to(PersonaSG.item)


async def on_edit_name(message: Message, _w: Any, manager: DialogManager) -> None:
    await _edit(message, manager, "name")


async def on_edit_prompt(message: Message, _w: Any, manager: DialogManager) -> None:
    await _edit(message, manager, "prompt")


async def on_delete(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    svc = services(manager)
    ref = manager.dialog_data.pop("ref", "")
    if await svc["personas"].delete(key_of(manager).user_id, ref):
        manager.dialog_data["notice"] = _(
            "Persona deleted. Conversations that used it go on as the assistant."
        )
    else:
        await callback.answer(_("This persona no longer exists."), show_alert=True)
    await manager.switch_to(PersonaSG.own)


async def on_group_pick(
    callback: CallbackQuery, _w: Any, manager: DialogManager, item: str
) -> None:
    svc = services(manager)
    key = key_of(manager)
    # Checked again on the press: the role may have changed since the menu was opened.
    data = update_data(manager)
    if not _is_group_admin(data["event_chat"], data["role"]):
        await callback.answer(
            _("Only admins of the bot can set the group's persona."), show_alert=True
        )
        return
    ref = None if item == NONE_ITEM else item
    if ref is not None and not await svc["personas"].may_use(key.user_id, ref):
        await callback.answer(_("This persona no longer exists."), show_alert=True)
        return
    await svc["personas"].set_chat_default(key.chat_id, ref)
    name = (await svc["personas"].resolve(ref)).name
    manager.dialog_data["notice"] = _(
        "👥 New conversations in this group now start with the persona {name}."
    ).format(name=name)
    await manager.switch_to(PersonaSG.main)
