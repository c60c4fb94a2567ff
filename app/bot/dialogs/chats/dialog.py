"""/chats: the user's conversations in this chat (or forum topic), newest first, in pages;
open, rename, delete (with confirmation), export and search.

Every button goes through ConversationService with the key of the user pressing it, so a
stale button (a deleted conversation) or a forged one (someone else's id) finds nothing
and says so; it never reaches another user's conversation."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, Select, SwitchTo
from aiogram_dialog.widgets.text import Format, List

from app.bot.dialogs.chats.actions import (
    conv_getter,
    list_getter,
    on_clear_search,
    on_delete,
    on_export,
    on_open,
    on_page,
    on_rename_text,
    on_search_text,
    on_select,
    on_toggle_archived,
    opened_getter,
)
from app.bot.dialogs.filters import InputWindow
from app.bot.dialogs.keys import chat_kind_getter
from app.bot.dialogs.states import ChatsSG
from app.bot.dialogs.widgets import I18nFormat

log = logging.getLogger(__name__)

# Widget ids start with "c_": the expired-menu handler maps the prefix back to this dialog.
MAX_QUERY_CHARS = 100
BUTTON_TITLE_CHARS = 40


# ---------------------------------------------------------------------------- dialog


def chats_dialog() -> Dialog:
    to_list = SwitchTo(I18nFormat(__("‹ Back")), id="c_back", state=ChatsSG.list)
    dialog = Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            I18nFormat(
                __("💬 Your conversations here: {total} (page {page} of {pages}), newest first."),
                when="current",
            ),
            I18nFormat(
                __("📦 Archived conversations: {total} (page {page} of {pages})."), when="archived"
            ),
            I18nFormat(__("🔎 Found for «{query}»: {total}."), when="searching"),
            I18nFormat(__("Nothing here yet."), when="empty"),
            List(
                Format(
                    "{item[n]}. {item[title]}\n    {item[date]} · {item[model]} · {item[persona]}"
                ),
                items="items",
            ),
            Select(
                Format("{item[button]}"),
                id="c_pick",
                item_id_getter=lambda item: item["id"],
                items="items",
                on_click=on_select,
            ),
            Row(
                Button(I18nFormat(__("‹ Newer")), id="c_prev", on_click=on_page, when="has_prev"),
                Button(I18nFormat(__("Older ›")), id="c_next", on_click=on_page, when="has_next"),
            ),
            Row(
                SwitchTo(I18nFormat(__("🔎 Search")), id="c_search", state=ChatsSG.search),
                Button(
                    I18nFormat(__("📦 Archived ({archived_count})")),
                    id="c_arch",
                    on_click=on_toggle_archived,
                    when="current",
                ),
                Button(
                    I18nFormat(__("💬 Current")),
                    id="c_cur",
                    on_click=on_toggle_archived,
                    when="archived",
                ),
                Button(
                    I18nFormat(__("✖ Clear search")),
                    id="c_clear",
                    on_click=on_clear_search,
                    when="searching",
                ),
            ),
            Cancel(I18nFormat(__("Close")), id="c_close"),
            state=ChatsSG.list,
            getter=list_getter,
        ),
        Window(
            I18nFormat(__("Send the words to look for in titles and messages.")),
            MessageInput(on_search_text, content_types="text"),
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            to_list,
            state=ChatsSG.search,
            getter=chat_kind_getter,
        ),
        Window(
            Format("{notice}\n", when="notice"),
            I18nFormat(
                __(
                    "«{title}»\nStarted {created}, last message {updated}\nModel: {model}\n"
                    "Persona: {persona}\nMessages: {turns}"
                ),
                when="found",
            ),
            I18nFormat(__("✅ This is the active conversation."), when="is_active"),
            I18nFormat(__("📦 Archived."), when="archived"),
            I18nFormat(__("This conversation no longer exists."), when="missing"),
            Button(I18nFormat(__("▶️ Open")), id="c_open", on_click=on_open, when="can_open"),
            Row(
                SwitchTo(I18nFormat(__("✏️ Rename")), id="c_rename", state=ChatsSG.rename),
                Button(I18nFormat(__("📤 Export")), id="c_export", on_click=on_export),
                SwitchTo(I18nFormat(__("🗑 Delete")), id="c_delete", state=ChatsSG.delete),
                when="found",
            ),
            to_list,
            state=ChatsSG.conv,
            getter=conv_getter,
        ),
        Window(
            I18nFormat(__("Send the new title for «{title}» (up to 64 characters).")),
            MessageInput(on_rename_text, content_types="text"),
            I18nFormat(__("In a group, send it as a reply to this message."), when="in_group"),
            SwitchTo(I18nFormat(__("‹ Back")), id="c_rback", state=ChatsSG.conv),
            state=ChatsSG.rename,
            getter=[conv_getter, chat_kind_getter],
        ),
        Window(
            I18nFormat(__("Delete «{title}» with all its messages? This can't be undone.")),
            Row(
                Button(I18nFormat(__("🗑 Yes, delete")), id="c_delete_yes", on_click=on_delete),
                SwitchTo(I18nFormat(__("No, keep it")), id="c_delete_no", state=ChatsSG.conv),
            ),
            state=ChatsSG.delete,
            getter=conv_getter,
        ),
        Window(
            I18nFormat(
                __(
                    "✅ «{title}» is the active conversation now. Your next message continues "
                    "it (model {model}, persona {persona})."
                )
            ),
            Row(
                SwitchTo(I18nFormat(__("‹ Back to the list")), id="c_oback", state=ChatsSG.list),
                Cancel(I18nFormat(__("Close")), id="c_oclose"),
            ),
            state=ChatsSG.opened,
            getter=opened_getter,
        ),
    )
    # Only the search and rename windows take typed text; other messages go to the chat.
    dialog.message.filter(InputWindow(ChatsSG.search, ChatsSG.rename))
    return dialog


async def cmd_chats(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(ChatsSG.list, mode=StartMode.RESET_STACK)


def create_chats_router() -> Router:
    router = Router(name="chats-dialog")
    router.message.register(cmd_chats, Command("chats"))
    router.include_router(chats_dialog())
    return router


__all__ = ["chats_dialog", "create_chats_router"]
