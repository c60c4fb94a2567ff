"""/tools: switch tools off (or on) in this chat; admins also choose which tools friends
may use. Every decision goes through ToolService; this module only shows it."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Chat, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Button, Cancel
from aiogram_dialog.widgets.text import Format, Multi

from app.bot.chat.threads import is_private
from app.bot.dialogs.common import clip, paged_select
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import ToolsSG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.workflow import update_data
from app.services.tools import ToolService
from app.storage import StorageUnavailable
from llmdoor import Caller, Role

log = logging.getLogger(__name__)

# Widget ids start with "t_": the expired-menu handler maps the prefix back to this dialog.
DESCRIPTION_CHARS = 60


async def tools_getter(
    dialog_manager: DialogManager, tools: ToolService, caller: Caller, event_chat: Chat, **_: Any
) -> dict[str, Any]:
    assert caller.user_id is not None  # a stranger never reaches a dialog
    off = await tools.is_off(caller.user_id, event_chat.id)
    mine = await tools.tools_for(caller, event_chat.id) if not off else []
    lines = "\n".join(f"• {t.name}: {clip(t.description, DESCRIPTION_CHARS)}" for t in mine)
    items: list[dict[str, str]] = []
    ids: dict[str, str] = {}
    # The friends' choice is an admin's business, and only in private: a group would see it.
    admin = caller.is_admin and is_private(event_chat)
    if admin:
        for index, choice in enumerate(await tools.choices()):
            ids[str(index)] = choice.name
            mark = "✅" if choice.friends else "❌"
            items.append({"id": str(index), "label": f"{mark} {clip(choice.name, 40)}"})
    # Buttons carry an index (tool names may be too long for callback data); the names
    # they stood for are kept with the dialog, so a changed list cannot misdirect a press.
    dialog_manager.dialog_data["ids"] = ids
    return {
        "off": off,
        "on": not off,
        "lines": lines,
        "admin": admin,
        "friend_tools": items,
    }


async def on_chat_switch(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    data = update_data(manager)
    caller, chat, tools = data["caller"], data["event_chat"], data["tools"]
    assert caller.user_id is not None
    try:
        off = await tools.is_off(caller.user_id, chat.id)
        await tools.set_off(caller.user_id, chat.id, not off)
    except StorageUnavailable:
        await callback.answer(_("The database is unavailable; try again later."), show_alert=True)


async def on_friend_tool(
    callback: CallbackQuery, _w: Any, manager: DialogManager, item: str
) -> None:
    data = update_data(manager)
    caller = data["caller"]
    name = manager.dialog_data.get("ids", {}).get(item)
    private = is_private(data["event_chat"])
    if not caller.is_admin or not private or name is None:  # forged, or a demoted admin
        await callback.answer(_("This menu has expired."))
        return
    try:
        allowed = await data["tools"].toggle_friend_tool(name)
    except StorageUnavailable:
        await callback.answer(_("The database is unavailable; try again later."), show_alert=True)
        return
    log.info("tools: admin %s set %s for friends to %s", caller.user_id, name, allowed)


def tools_dialog() -> Dialog:
    dialog = Dialog(
        Window(
            Multi(
                I18nFormat(__("🛠 Tools in this chat: on"), when="on"),
                I18nFormat(__("🛠 Tools in this chat: off"), when="off"),
                Format("{lines}", when="lines"),
                I18nFormat(
                    __("No tools are available to you right now."), when=~F["lines"] & F["on"]
                ),
                I18nFormat(
                    __("Friends may use the tools marked ✅; tap one to change it."),
                    when="admin",
                ),
                sep="\n\n",
            ),
            Button(
                I18nFormat(__("Switch tools off in this chat")),
                id="t_off",
                on_click=on_chat_switch,
                when="on",
            ),
            Button(
                I18nFormat(__("Switch tools on in this chat")),
                id="t_on",
                on_click=on_chat_switch,
                when="off",
            ),
            paged_select("t_friend", "friend_tools", on_friend_tool),
            Cancel(I18nFormat(__("Close")), id="t_close"),
            state=ToolsSG.main,
            getter=tools_getter,
        ),
    )
    dialog.message.filter(InputWindow())  # no typed input: chat messages fall through
    return dialog


async def cmd_tools(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(ToolsSG.main, mode=StartMode.RESET_STACK)


def create_tools_router() -> Router:
    router = Router(name="tools-dialog")
    router.message.register(cmd_tools, Command("tools"), RoleIs(Role.ADMIN, Role.FRIEND))
    router.include_router(tools_dialog())
    return router


__all__ = ["create_tools_router", "tools_dialog"]
