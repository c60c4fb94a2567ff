"""/persona: pick the persona of the active conversation (built-in presets and the user's
own), create, edit and delete one's own, and, for admins of the bot in a group, set the
group's default persona for new conversations there."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, Select, SwitchTo
from aiogram_dialog.widgets.text import Format, List

from app.bot.dialogs.filters import InputWindow
from app.bot.dialogs.keys import chat_kind_getter
from app.bot.dialogs.persona.actions import (
    NONE_ITEM,
    group_getter,
    item_getter,
    main_getter,
    on_delete,
    on_edit_name,
    on_edit_prompt,
    on_group_pick,
    on_new_name,
    on_new_prompt,
    on_own,
    on_pick,
    own_getter,
)
from app.bot.dialogs.states import PersonaSG
from app.bot.dialogs.widgets import I18nFormat

# Widget ids start with "p_": the expired-menu handler maps the prefix back to this dialog.


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
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            back_main,
            state=PersonaSG.new_name,
            getter=chat_kind_getter,
        ),
        Window(
            I18nFormat(
                __(
                    "Now send its system prompt: who the model should be and how it should "
                    "answer (up to 2000 characters)."
                )
            ),
            MessageInput(on_new_prompt, content_types="text"),
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            back_main,
            state=PersonaSG.new_prompt,
            getter=chat_kind_getter,
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
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            SwitchTo(I18nFormat(__("‹ Back")), id="p_enback", state=PersonaSG.item),
            state=PersonaSG.edit_name,
            getter=[item_getter, chat_kind_getter],
        ),
        Window(
            I18nFormat(__("Send the new prompt for «{name}» (up to 2000 characters).")),
            MessageInput(on_edit_prompt, content_types="text"),
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            SwitchTo(I18nFormat(__("‹ Back")), id="p_epback", state=PersonaSG.item),
            state=PersonaSG.edit_prompt,
            getter=[item_getter, chat_kind_getter],
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
