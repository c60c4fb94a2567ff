"""/memory: the facts the bot keeps of you, in pages, each with ✖ to forget it; "forget
all" with a confirmation; and the switches: memory on or off, whether the model may offer
to remember things, and whether your facts are used in groups too."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Back, Button, Cancel, SwitchTo
from aiogram_dialog.widgets.text import Multi

from app.bot.chat.threads import is_private
from app.bot.dialogs.common import clip, paged_select
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import MemorySG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.workflow import update_data
from app.services.memory.service import MemoryService
from app.storage import StorageUnavailable, UserRecord
from llmdoor import Role

log = logging.getLogger(__name__)

# Widget ids start with "y_": the expired-menu handler maps the prefix back to this dialog.
FACT_CHARS = 48


async def memory_getter(
    dialog_manager: DialogManager, memory: MemoryService, user_record: UserRecord, **_: Any
) -> dict[str, Any]:
    prefs = user_record.prefs
    listed = await memory.facts_for_menu(user_record.user_id, memory.settings.max_facts)
    facts = len(listed)
    # Buttons carry an index; the ids they stood for stay with the dialog, so a changed
    # list cannot make a press forget another fact.
    dialog_manager.dialog_data["ids"] = {str(i): f.id for i, f in enumerate(listed)}
    return {
        "count": facts,
        "none": facts == 0,
        "on": prefs.memory,
        "off": not prefs.memory,
        "auto_allowed": memory.settings.auto,
        "auto": prefs.memory_auto,
        "groups": prefs.memory_in_groups,
        "facts": [
            {"id": str(i), "label": f"✖ {clip(f.text, FACT_CHARS)}"} for i, f in enumerate(listed)
        ],
    }


async def _set(callback: CallbackQuery, manager: DialogManager, **changes: bool) -> None:
    data = update_data(manager)
    try:
        record = await data["storage"].users.set_prefs(data["user_record"].user_id, **changes)
    except StorageUnavailable:
        await callback.answer(_("The database is unavailable; try again later."), show_alert=True)
        return
    manager.middleware_data["user_record"] = record


async def on_switch(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _set(callback, manager, memory=not update_data(manager)["user_record"].prefs.memory)


async def on_auto(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    prefs = update_data(manager)["user_record"].prefs
    await _set(callback, manager, memory_auto=not prefs.memory_auto)


async def on_groups(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    prefs = update_data(manager)["user_record"].prefs
    await _set(callback, manager, memory_in_groups=not prefs.memory_in_groups)


async def on_forget(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    data = update_data(manager)
    fact_id = manager.dialog_data.get("ids", {}).get(item)
    if fact_id is None:
        await callback.answer(_("This menu has expired."))
        return
    try:
        await data["memory"].forget(data["user_record"].user_id, fact_id)
    except StorageUnavailable:
        await callback.answer(_("The database is unavailable; try again later."), show_alert=True)
        return
    await callback.answer(_("Forgotten."))


async def on_forget_all(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    data = update_data(manager)
    try:
        await data["memory"].forget_all(data["user_record"].user_id)
    except StorageUnavailable:
        await callback.answer(_("The database is unavailable; try again later."), show_alert=True)
        return
    await callback.answer(_("Forgotten."))
    await manager.switch_to(MemorySG.main)


def memory_dialog() -> Dialog:
    dialog = Dialog(
        Window(
            Multi(
                I18nFormat(__("🧠 Memory: on. I keep {count} facts about you."), when="on"),
                I18nFormat(
                    __("🧠 Memory: off. I keep {count} facts, and use none of them."),
                    when="off",
                ),
                I18nFormat(
                    __("Add one with /remember <fact>. Tap a fact to forget it."),
                    when=~F["none"],
                ),
                I18nFormat(__("Nothing yet: add a fact with /remember <fact>."), when="none"),
                sep="\n\n",
            ),
            paged_select("y_fact", "facts", on_forget),
            Button(I18nFormat(__("Switch memory off")), id="y_off", on_click=on_switch, when="on"),
            Button(I18nFormat(__("Switch memory on")), id="y_on", on_click=on_switch, when="off"),
            Button(
                I18nFormat(__("✅ I may offer to remember things")),
                id="y_auto_off",
                on_click=on_auto,
                when=F["auto"] & F["auto_allowed"],
            ),
            Button(
                I18nFormat(__("❌ I may offer to remember things")),
                id="y_auto_on",
                on_click=on_auto,
                when=~F["auto"] & F["auto_allowed"],
            ),
            Button(
                I18nFormat(__("✅ Use my facts in groups too")),
                id="y_groups_off",
                on_click=on_groups,
                when="groups",
            ),
            Button(
                I18nFormat(__("❌ Use my facts in groups too")),
                id="y_groups_on",
                on_click=on_groups,
                when=~F["groups"],
            ),
            SwitchTo(
                I18nFormat(__("Forget all")),
                id="y_all",
                state=MemorySG.forget_all,
                when=~F["none"],
            ),
            Cancel(I18nFormat(__("Close")), id="y_close"),
            state=MemorySG.main,
            getter=memory_getter,
        ),
        Window(
            I18nFormat(__("Forget all {count} facts? This cannot be undone.")),
            Button(I18nFormat(__("Forget all")), id="y_all_yes", on_click=on_forget_all),
            Back(I18nFormat(__("Cancel")), id="y_all_no"),
            state=MemorySG.forget_all,
            getter=memory_getter,
        ),
    )
    dialog.message.filter(InputWindow())  # no typed input: chat messages fall through
    return dialog


async def cmd_memory(message: Message, dialog_manager: DialogManager) -> None:
    if not is_private(message.chat):
        # The list is personal: in a group every member would read it.
        await message.reply(_("🧠 Your memory is yours alone: open /memory in our private chat."))
        return
    await dialog_manager.start(MemorySG.main, mode=StartMode.RESET_STACK)


def create_memory_dialog_router() -> Router:
    router = Router(name="memory-dialog")
    router.message.register(cmd_memory, Command("memory"), RoleIs(Role.ADMIN, Role.FRIEND))
    router.include_router(memory_dialog())
    return router


__all__ = ["create_memory_dialog_router", "memory_dialog"]
