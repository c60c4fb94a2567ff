"""/stats → Tools: calls per tool in the selected window, with the failed ones."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.widgets.kbd import SwitchTo
from aiogram_dialog.widgets.text import Format, Multi

from app.bot.dialogs.common import selected_window, window_key, window_label
from app.bot.dialogs.states import StatsSG
from app.bot.dialogs.widgets import I18nFormat
from app.storage import Storage, StorageUnavailable


async def tools_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    try:
        rows = await storage.tools.per_tool(selected_window(dialog_manager))
    except StorageUnavailable:
        # Not "no tool calls": we cannot know, and the admin should not read it as zero.
        return {"window": window_label(window_key(dialog_manager)), "lines": "", "outage": True}
    lines = [
        _("{tool}: {calls} calls ({errors} failed)").format(
            tool=r.tool, calls=r.calls, errors=r.errors
        )
        for r in rows
    ]
    return {
        "window": window_label(window_key(dialog_manager)),
        "lines": "\n".join(lines),
        "outage": False,
    }


def tools_window(back: SwitchTo) -> Window:
    return Window(
        Multi(
            I18nFormat(__("Tool calls: {window}")),
            Format("{lines}", when="lines"),
            I18nFormat(
                __("⚠️ The database is unavailable right now. Try again later."),
                when=F["outage"],
            ),
            I18nFormat(__("No tool calls in this period."), when=~F["lines"] & ~F["outage"]),
            sep="\n\n",
        ),
        back,
        state=StatsSG.tools,
        getter=tools_getter,
    )
