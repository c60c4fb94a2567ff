"""Getters and button/input handlers of the /chats dialog (its windows are in
``app.bot.dialogs.chats.dialog``)."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Button

from app.bot.chat.sink import remove_buttons
from app.bot.dialogs.keys import key_of
from app.bot.dialogs.states import ChatsSG
from app.bot.workflow import services, update_data
from app.services.chat.service import ChatService, buttons_message
from app.services.conversations.export import ExportService
from app.services.conversations.personas import PersonaService
from app.services.conversations.service import PAGE_SIZE, ConversationKey, ConversationService
from app.storage import ConversationInfo, UserRecord

log = logging.getLogger(__name__)

# Widget ids start with "c_": the expired-menu handler maps the prefix back to this dialog.
MAX_QUERY_CHARS = 100
BUTTON_TITLE_CHARS = 40


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def _title(conv: ConversationInfo) -> str:
    return conv.title or _("untitled")


async def _describe(
    convs: list[ConversationInfo],
    chat_service: ChatService,
    personas: PersonaService,
    user: UserRecord,
    offset: int,
) -> list[dict[str, Any]]:
    names: dict[str | None, str] = {}
    items = []
    for n, conv in enumerate(convs, offset + 1):
        if conv.persona not in names:
            names[conv.persona] = (await personas.resolve(conv.persona)).name
        title = _title(conv)
        short = title if len(title) <= BUTTON_TITLE_CHARS else title[: BUTTON_TITLE_CHARS - 1] + "…"
        items.append(
            {
                "id": conv.id,
                "n": n,
                "title": title,
                "button": f"{'✅ ' if conv.active else ''}{n}. {short}",
                "date": _when(conv.updated_at),
                "model": chat_service.model_for(user, conv),
                "persona": names[conv.persona],
            }
        )
    return items


# ---------------------------------------------------------------------------- getters


async def list_getter(
    dialog_manager: DialogManager,
    conversations: ConversationService,
    chat_service: ChatService,
    personas: PersonaService,
    user_record: UserRecord,
    **_kwargs: Any,
) -> dict[str, Any]:
    data = dialog_manager.dialog_data
    key = key_of(dialog_manager)
    query: str | None = data.get("query")
    archived = bool(data.get("archived"))
    if query:  # the search has its own page number: clearing it returns to the list's
        page = await conversations.search_page(key, query, int(data.get("search_page", 0)))
        data["search_page"] = page.page
    else:
        page = await conversations.page(key, int(data.get("page", 0)), archived=archived)
        data["page"] = page.page
    page_no = page.page
    archived_count = await conversations.count_archived(key)
    return {
        "items": await _describe(
            page.items, chat_service, personas, user_record, page_no * PAGE_SIZE
        ),
        # A capped search says so ("30+") rather than passing the cap off as the count.
        "total": f"{page.total}+" if page.more else page.total,
        "page": page_no + 1,
        "pages": page.pages,
        "has_prev": page_no > 0,
        "has_next": page_no + 1 < page.pages,
        "query": query or "",
        "searching": bool(query),
        "archived": archived and not query,
        "current": not archived and not query,
        "empty": page.total == 0,
        "archived_count": archived_count,
        "notice": data.pop("notice", ""),
    }


async def conv_getter(
    dialog_manager: DialogManager,
    conversations: ConversationService,
    chat_service: ChatService,
    personas: PersonaService,
    user_record: UserRecord,
    **_kwargs: Any,
) -> dict[str, Any]:
    conv = await conversations.owned(
        key_of(dialog_manager), dialog_manager.dialog_data.get("conv_id", "")
    )
    if conv is None:
        return {"missing": True, "found": False, "can_open": False, "title": ""}
    return {
        "missing": False,
        "found": True,
        "can_open": not conv.active,
        "is_active": conv.active,
        "archived": conv.archived,
        "title": _title(conv),
        "created": _when(conv.created_at),
        "updated": _when(conv.updated_at),
        "model": chat_service.model_for(user_record, conv),
        "persona": (await personas.resolve(conv.persona)).name,
        "turns": len(conv.turns),
        "notice": dialog_manager.dialog_data.pop("notice", ""),
    }


# ---------------------------------------------------------------------------- actions


async def _owned_or_gone(callback: CallbackQuery, manager: DialogManager, conv_id: str) -> bool:
    svc = services(manager)
    if await svc["conversations"].owned(key_of(manager), conv_id) is not None:
        return True
    await callback.answer(_("This conversation no longer exists."), show_alert=True)
    manager.dialog_data.pop("conv_id", None)
    await manager.switch_to(ChatsSG.list)
    return False


async def on_select(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    if await _owned_or_gone(callback, manager, item):
        manager.dialog_data["conv_id"] = item
        await manager.switch_to(ChatsSG.conv)


async def on_page(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    step = 1 if button.widget_id == "c_next" else -1
    field = "search_page" if manager.dialog_data.get("query") else "page"
    manager.dialog_data[field] = max(0, int(manager.dialog_data.get(field, 0)) + step)


async def on_toggle_archived(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    manager.dialog_data["archived"] = not manager.dialog_data.get("archived")
    manager.dialog_data["page"] = 0


async def on_clear_search(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    manager.dialog_data.pop("query", None)


async def on_search_text(message: Message, _w: Any, manager: DialogManager) -> None:
    query = " ".join((message.text or "").split())[:MAX_QUERY_CHARS]
    if not query:
        await message.answer(_("Send the words to look for."))
        return
    manager.dialog_data["query"] = query
    manager.dialog_data["search_page"] = 0
    await manager.switch_to(ChatsSG.list)


async def on_open(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    svc = services(manager)
    key = key_of(manager)
    user = update_data(manager)["user_record"]
    conv_id = manager.dialog_data.get("conv_id", "")
    # The answer buttons act on the active conversation: the one left keeps none (as /new).
    old_buttons = buttons_message((await svc["conversations"].active(key, user.model)).turns)
    conv = await svc["conversations"].open(key, conv_id)
    if conv is None:
        await _owned_or_gone(callback, manager, conv_id)
        return
    manager.dialog_data["opened"] = {
        "title": _title(conv),
        "model": svc["chat_service"].model_for(user, conv),
        "persona": (await svc["personas"].resolve(conv.persona)).name,
    }
    await manager.switch_to(ChatsSG.opened)
    if old_buttons is not None and old_buttons != buttons_message(conv.turns):
        bot = update_data(manager)["bot"]
        await remove_buttons(bot, key.chat_id, old_buttons, svc["bot_limiter"])


async def opened_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    return dict(dialog_manager.dialog_data.get("opened", {"title": "", "model": "", "persona": ""}))


async def on_rename_text(message: Message, _w: Any, manager: DialogManager) -> None:
    svc = services(manager)
    title = svc["conversations"].clean_title(message.text or "")
    if title is None:
        await message.answer(_("A title has 1 to 64 characters. Send another one."))
        return
    if await svc["conversations"].rename(
        key_of(manager), manager.dialog_data.get("conv_id", ""), title
    ):
        manager.dialog_data["notice"] = _("Renamed to «{title}».").format(title=title)
        await manager.switch_to(ChatsSG.conv)
    else:
        await message.answer(_("This conversation no longer exists."))
        await manager.switch_to(ChatsSG.list)


async def on_delete(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    svc = services(manager)
    key = key_of(manager)
    conv_id = manager.dialog_data.pop("conv_id", "")
    conv = await svc["conversations"].owned(key, conv_id)
    if conv is None or not await svc["conversations"].delete(key, conv_id):
        await callback.answer(_("This conversation no longer exists."), show_alert=True)
    else:
        manager.dialog_data["notice"] = _("Deleted «{title}» and its messages.").format(
            title=_title(conv)
        )
    await manager.switch_to(ChatsSG.list)


async def on_export(callback: CallbackQuery, _b: Button, manager: DialogManager) -> None:
    svc = services(manager)
    key: ConversationKey = key_of(manager)
    conv = await svc["conversations"].owned(key, manager.dialog_data.get("conv_id", ""))
    if conv is None:
        await _owned_or_gone(callback, manager, manager.dialog_data.get("conv_id", ""))
        return
    persona = (await svc["personas"].resolve(conv.persona)).name
    exporter: ExportService = svc["exports"]
    files = await exporter.build(conv, persona, _title(conv))
    bot = update_data(manager)["bot"]
    try:
        for file in files:
            await bot.send_document(
                key.chat_id,
                BufferedInputFile(file.data, filename=file.filename),
                message_thread_id=key.thread_id or None,
            )
    except TelegramAPIError as exc:
        log.warning("chats: export to chat %s failed: %s", key.chat_id, type(exc).__name__)
        manager.dialog_data["notice"] = _("The export could not be sent. Try again later.")
        return
    manager.dialog_data["notice"] = _("Exported in {count} documents.").format(count=len(files))
