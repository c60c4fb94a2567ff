"""The exports of the /stats panel: the daily chart (PNG) and the usage records (CSV)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from app.bot.dialogs.common import selected_window, window_key, window_label
from app.bot.dialogs.stats.charts import render_daily_chart
from app.bot.dialogs.stats.csv_export import CsvTooLarge, usage_csv
from app.bot.dialogs.stats.kinds import kind_label
from app.bot.workflow import services, update_data

# Telegram's limit for documents sent by bots is 50 MB; keep a margin for the multipart.
MAX_DOCUMENT_BYTES = 49 * 1024 * 1024


def _chat_id(callback: CallbackQuery) -> int:
    return callback.message.chat.id if callback.message else callback.from_user.id


async def on_chart(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    storage = services(manager)["storage"]
    window = selected_window(manager)
    days, by_kind = await asyncio.gather(
        storage.stats.per_day(window), storage.stats.per_day_by_kind(window)
    )
    if not days:
        await callback.answer(_("No usage in this period."), show_alert=True)
        return
    key = window_key(manager)
    labels = {
        "title": _("Daily usage: {window}").format(window=window_label(key)),
        "requests_label": _("Requests"),
        "cost_label": _("Cost, USD"),
    }
    kinds = {kind_label(k): rows for k, rows in by_kind.items()} if len(by_kind) > 1 else None
    # matplotlib is CPU-bound for ~100 ms: keep the event loop serving other chats.
    png = await asyncio.to_thread(render_daily_chart, days, by_kind=kinds, **labels)
    bot = update_data(manager)["bot"]
    await bot.send_photo(
        _chat_id(callback),
        BufferedInputFile(png, filename=f"usage-{key}.png"),
        caption=labels["title"],
    )


async def on_csv(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    storage = services(manager)["storage"]
    window = selected_window(manager)
    if await storage.usage.count(window) == 0:
        await callback.answer(_("No usage in this period."), show_alert=True)
        return
    key = window_key(manager)
    try:
        data = await usage_csv(storage.usage.iter_records(window), max_bytes=MAX_DOCUMENT_BYTES)
    except CsvTooLarge:
        await callback.answer(
            _("The export is larger than Telegram allows (50 MB). Choose a shorter period."),
            show_alert=True,
        )
        return
    bot = update_data(manager)["bot"]
    await bot.send_document(
        _chat_id(callback),
        BufferedInputFile(data, filename=f"usage-{key}.csv"),
        caption=_("Usage records: {window}").format(window=window_label(key)),
    )


__all__ = ["MAX_DOCUMENT_BYTES", "on_chart", "on_csv"]
