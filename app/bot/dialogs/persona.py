"""/persona: pick the persona of the active conversation (built-in presets and the user's
own), create, edit and delete one's own, and, for admins of the bot in a group, set the
group's default persona for new conversations there."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Chat, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, Select, SwitchTo
from aiogram_dialog.widgets.text import Format, List

from app.bot.dialogs.filters import InputWindow
from app.bot.dialogs.keys import key_of
from app.bot.dialogs.states import PersonaSG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.services.conversations import ConversationService
from app.bot.services.personas import (
    MAX_NAME_CHARS,
    MAX_PROMPT_CHARS,
    PersonaProblem,
    PersonaService,
    ResolvedPersona,
)
from app.bot.workflow import services
from app.llm.access import Role
from app.storage import UserRecord

# Widget ids start with "p_": the expired-menu handler maps the prefix back to this dialog.
GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}
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


def _is_group_admin(manager: DialogManager) -> bool:
    chat: Chat = manager.middleware_data["event_chat"]
    return chat.type in GROUPS and manager.middleware_data.get("role") is Role.ADMIN


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
    **_kwargs: Any,
) -> dict[str, Any]:
    key = key_of(dialog_manager)
    conv = await conversations.active(key, user_record.model)
    current = await personas.resolve(conv.persona)
    group = _is_group_admin(dialog_manager)
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
    user: UserRecord = manager.middleware_data["user_record"]
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
    user: UserRecord = manager.middleware_data["user_record"]
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
    if not _is_group_admin(manager):
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


# ---------------------------------------------------------------------------- dialog


def _select(select_id: str, on_click: Any) -> Select[dict[str, Any]]:
    return Select(
        Format("{item[label]}"),
        id=select_id,
        item_id_getter=lambda item: item["id"],
        items="items",
        on_click=on_click,
    )


def persona_dialog() -> Dialog:
    back_main = SwitchTo(I18nFormat(__("‹ Back")), id="p_back", state=PersonaSG.main)
    dialog = Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            I18nFormat(__("🎭 Persona of this conversation: {current}\n\nPick one:")),
            List(Format("• {item[name]}: {item[description]}"), items="items"),
            _select("p_pick", on_pick),
            Row(
                SwitchTo(I18nFormat(__("➕ New persona")), id="p_new", state=PersonaSG.new_name),
                SwitchTo(
                    I18nFormat(__("✏️ My personas")), id="p_own", state=PersonaSG.own, when="has_own"
                ),
            ),
            SwitchTo(
                I18nFormat(__("👥 Group default: {group_default}")),
                id="p_group",
                state=PersonaSG.group,
                when="group_admin",
            ),
            Cancel(I18nFormat(__("Close")), id="p_close"),
            state=PersonaSG.main,
            getter=main_getter,
        ),
        Window(
            I18nFormat(__("Send a name for the new persona (up to 40 characters).")),
            MessageInput(on_new_name, content_types="text"),
            back_main,
            state=PersonaSG.new_name,
        ),
        Window(
            I18nFormat(
                __(
                    "Now send its system prompt: who the model should be and how it should "
                    "answer (up to 2000 characters)."
                )
            ),
            MessageInput(on_new_prompt, content_types="text"),
            back_main,
            state=PersonaSG.new_prompt,
        ),
        Window(
            Format("{notice}\n", when="notice"),
            I18nFormat(__("Your personas:")),
            _select("p_item", on_own),
            back_main,
            state=PersonaSG.own,
            getter=own_getter,
        ),
        Window(
            Format("{notice}\n", when="notice"),
            I18nFormat(__("«{name}»\n\n{prompt}"), when="found"),
            I18nFormat(__("This persona no longer exists."), when="missing"),
            Row(
                SwitchTo(I18nFormat(__("✏️ Rename")), id="p_ename", state=PersonaSG.edit_name),
                SwitchTo(
                    I18nFormat(__("📝 Edit prompt")), id="p_eprompt", state=PersonaSG.edit_prompt
                ),
                SwitchTo(I18nFormat(__("🗑 Delete")), id="p_del", state=PersonaSG.delete),
                when="found",
            ),
            SwitchTo(I18nFormat(__("‹ Back")), id="p_iback", state=PersonaSG.own),
            state=PersonaSG.item,
            getter=item_getter,
        ),
        Window(
            I18nFormat(__("Send the new name for «{name}» (up to 40 characters).")),
            MessageInput(on_edit_name, content_types="text"),
            SwitchTo(I18nFormat(__("‹ Back")), id="p_enback", state=PersonaSG.item),
            state=PersonaSG.edit_name,
            getter=item_getter,
        ),
        Window(
            I18nFormat(__("Send the new prompt for «{name}» (up to 2000 characters).")),
            MessageInput(on_edit_prompt, content_types="text"),
            SwitchTo(I18nFormat(__("‹ Back")), id="p_epback", state=PersonaSG.item),
            state=PersonaSG.edit_prompt,
            getter=item_getter,
        ),
        Window(
            I18nFormat(__("Delete the persona «{name}»?")),
            Row(
                Button(I18nFormat(__("🗑 Yes, delete")), id="p_del_yes", on_click=on_delete),
                SwitchTo(I18nFormat(__("No, keep it")), id="p_del_no", state=PersonaSG.item),
            ),
            state=PersonaSG.delete,
            getter=item_getter,
        ),
        Window(
            I18nFormat(
                __("👥 Default persona for new conversations in this group: {current}\n\nPick one:")
            ),
            _select("p_gpick", on_group_pick),
            Button(
                I18nFormat(__("No default (the assistant)")),
                id="p_gnone",
                on_click=lambda c, b, m: on_group_pick(c, b, m, NONE_ITEM),
            ),
            back_main,
            state=PersonaSG.group,
            getter=group_getter,
        ),
    )
    dialog.message.filter(
        InputWindow(
            PersonaSG.new_name, PersonaSG.new_prompt, PersonaSG.edit_name, PersonaSG.edit_prompt
        )
    )
    return dialog


async def cmd_persona(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(PersonaSG.main, mode=StartMode.RESET_STACK)


def create_persona_router() -> Router:
    router = Router(name="persona-dialog")
    router.message.register(cmd_persona, Command("persona"))
    router.include_router(persona_dialog())
    return router


__all__ = ["create_persona_router", "persona_dialog"]
