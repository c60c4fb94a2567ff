"""/stats (admins only): usage totals per window, per user, per model, chart and CSV.

Every figure comes from the daily rollups (``storage.stats``: totals/per_user/per_model/per_day);
only the CSV export walks the records, and it streams them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import (
    Button,
    Cancel,
    Group,
    Row,
    Select,
    SwitchTo,
)
from aiogram_dialog.widgets.text import Format, Multi

from app.bot.chat.threads import PRIVATE_CHAT
from app.bot.dialogs.common import (
    WINDOW_KEYS,
    fmt_cost,
    fmt_count,
    fmt_latency,
    paged_select,
    selected_window,
    user_label,
    window_key,
    window_label,
)
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import StatsSG
from app.bot.dialogs.stats.exports import on_chart, on_csv
from app.bot.dialogs.stats.kinds import kind_lines
from app.bot.dialogs.stats.tasks import tasks_text
from app.bot.dialogs.stats.tools import tools_window
from app.bot.dialogs.widgets import I18nFormat
from app.bot.filters import OnLoop
from app.services.schedule.manage import TaskManager
from app.storage import Storage, UsageTotals, UserRecord
from llmdoor import Role

log = logging.getLogger(__name__)

# Widget ids start with "s_": the expired-menu handler maps the prefix back to this dialog.
TOP_USERS = 20
TOP_MODELS = 20
RECENT_ERRORS = 5


def totals_text(t: UsageTotals) -> str:
    text = _(
        "Requests: {requests} (errors: {errors})\n"
        "Tokens: {prompt} prompt / {completion} completion\n"
        "Cost: {cost}\n"
        "Latency: median {p50}, p95 {p95}"
    ).format(
        requests=t.requests,
        errors=t.errors,
        prompt=t.prompt_tokens,
        completion=t.completion_tokens,
        cost=fmt_cost(t),
        p50=fmt_latency(t.latency_p50_ms),
        p95=fmt_latency(t.latency_p95_ms),
    )
    if t.fallback_priced_requests:
        text += "\n" + _(
            "{count} requests had no known price: their cost is an estimate at the fallback "
            "price (LLM_UNPRICED_INPUT_PER_MTOK / LLM_UNPRICED_OUTPUT_PER_MTOK)."
        ).format(count=t.fallback_priced_requests)
    return text


async def _names(storage: Storage, user_ids: list[int | None]) -> dict[int | None, str]:
    """Display names for a page of users (at most TOP_USERS lookups)."""
    records: list[UserRecord | None] = list(
        await asyncio.gather(
            *(storage.users.get(uid) if uid is not None else _none() for uid in user_ids)
        )
    )
    return {uid: user_label(uid, rec) for uid, rec in zip(user_ids, records, strict=True)}


async def _none() -> None:
    return None


# ---------------------------------------------------------------------------- getters


async def main_getter(
    dialog_manager: DialogManager, storage: Storage, task_manager: TaskManager, **_kwargs: Any
) -> dict[str, Any]:
    key = window_key(dialog_manager)
    window = selected_window(dialog_manager)
    totals, kinds, tasks = await asyncio.gather(
        storage.stats.totals(window), storage.stats.per_kind(window), task_manager.counts()
    )
    windows = [
        {"id": k, "label": f"• {window_label(k)} •" if k == key else window_label(k)}
        for k in WINDOW_KEYS
    ]
    return {
        "window": window_label(key),
        "totals": totals_text(totals),
        "kinds": kind_lines(kinds),
        "windows": windows,
        "detail": await detail_text(storage),
        "tasks": tasks_text(tasks),
    }


async def detail_text(storage: Storage) -> str:
    """How far back the raw records (recent errors, CSV export) go; the figures above come
    from daily rollups that are kept forever. Empty when records are kept forever."""
    days = storage.stats.retention_days
    if days is None:
        return ""
    oldest = await storage.stats.detail_since()
    since = oldest.strftime("%Y-%m-%d") if oldest is not None else "-"
    return _(
        "Detailed records (recent errors, CSV export) are kept for {days} days; "
        "the oldest is from {since}. Totals cover all time."
    ).format(days=days, since=since)


async def users_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    rows = await storage.stats.per_user(selected_window(dialog_manager), limit=TOP_USERS)
    names = await _names(storage, [r.user_id for r in rows])
    lines = [
        _("{name}: {requests} requests, {tokens} tokens, {cost}").format(
            name=names[r.user_id],
            requests=r.requests,
            tokens=r.prompt_tokens + r.completion_tokens,
            cost=fmt_cost(r),
        )
        for r in rows
    ]
    # Library calls (no user id) are listed but have no detail page.
    users = [
        {
            "id": str(r.user_id),
            "label": _("{name} · {requests} req").format(
                name=names[r.user_id], requests=fmt_count(r.requests)
            ),
        }
        for r in rows
        if r.user_id is not None
    ]
    return {
        "window": window_label(window_key(dialog_manager)),
        "lines": "\n".join(lines),
        "users": users,
    }


async def user_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    window = selected_window(dialog_manager)
    uid = int(dialog_manager.dialog_data["user_id"])
    totals, kinds, models, errors, record = await asyncio.gather(
        storage.stats.totals(window, user_id=uid),
        storage.stats.per_kind(window, user_id=uid),
        storage.stats.per_model(window, limit=TOP_MODELS, user_id=uid),
        storage.usage.recent_errors(window, user_id=uid, limit=RECENT_ERRORS),
        storage.users.get(uid),
    )
    model_lines = [
        _("{model}: {requests} requests, {tokens} tokens, {cost}").format(
            model=m.model,
            requests=m.requests,
            tokens=m.prompt_tokens + m.completion_tokens,
            cost=fmt_cost(m),
        )
        for m in models
    ]
    error_lines = [
        _("{time} {model}: {kind}").format(
            time=e.created_at.strftime("%Y-%m-%d %H:%M"),
            model=e.model,
            kind=e.error_kind or e.outcome,
        )
        for e in errors
    ]
    return {
        "name": user_label(uid, record),
        "user_id": uid,
        "window": window_label(window_key(dialog_manager)),
        "totals": totals_text(totals),
        "kinds": kind_lines(kinds),
        "models": "\n".join(model_lines),
        "errors": "\n".join(error_lines),
    }


async def models_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    rows = await storage.stats.per_model(selected_window(dialog_manager), limit=TOP_MODELS)
    lines = [
        _("{model}: {requests} requests ({errors} errors), {tokens} tokens, {cost}").format(
            model=m.model,
            requests=m.requests,
            errors=m.errors,
            tokens=m.prompt_tokens + m.completion_tokens,
            cost=fmt_cost(m),
        )
        for m in rows
    ]
    return {"window": window_label(window_key(dialog_manager)), "lines": "\n".join(lines)}


# ---------------------------------------------------------------------------- actions


async def on_window(callback: CallbackQuery, _w: Any, manager: DialogManager, key: str) -> None:
    if key in WINDOW_KEYS:  # client-controlled data: ignore anything else
        manager.dialog_data["window"] = key


async def on_user(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    try:
        manager.dialog_data["user_id"] = int(item)
    except ValueError:
        await callback.answer(_("This menu has expired."))
        return
    await manager.switch_to(StatsSG.user)


# ---------------------------------------------------------------------------- dialog


def _listing(header: I18nFormat) -> Multi:
    """A header, then the getter's ``lines`` or a "no usage" note."""
    return Multi(
        header,
        Format("{lines}", when="lines"),
        I18nFormat(__("No usage in this period."), when=~F["lines"]),
        sep="\n\n",
    )


def stats_dialog() -> Dialog:
    back = SwitchTo(I18nFormat(__("‹ Back")), id="s_back", state=StatsSG.main)
    dialog = Dialog(
        Window(
            Multi(
                I18nFormat(__("Usage statistics: {window}")),
                Format("{totals}"),
                Multi(I18nFormat(__("By kind:")), Format("{kinds}"), sep="\n", when="kinds"),
                Multi(
                    I18nFormat(__("Scheduled work, now:")),
                    Format("{tasks}"),
                    sep="\n",
                    when="tasks",
                ),
                Format("{detail}", when="detail"),
                sep="\n\n",
            ),
            Group(
                Select(
                    Format("{item[label]}"),
                    id="s_win",
                    item_id_getter=lambda item: item["id"],
                    items="windows",
                    on_click=on_window,
                ),
                width=2,
            ),
            Row(
                SwitchTo(I18nFormat(__("Users")), id="s_users", state=StatsSG.users),
                SwitchTo(I18nFormat(__("Models")), id="s_models", state=StatsSG.models),
                SwitchTo(I18nFormat(__("Tools")), id="s_tools", state=StatsSG.tools),
            ),
            Row(
                Button(I18nFormat(__("Chart")), id="s_chart", on_click=on_chart),
                Button(I18nFormat(__("CSV export")), id="s_csv", on_click=on_csv),
            ),
            Cancel(I18nFormat(__("Close")), id="s_close"),
            state=StatsSG.main,
            getter=main_getter,
        ),
        Window(
            _listing(I18nFormat(__("Users by cost: {window}"))),
            paged_select("s_user", "users", on_user),
            back,
            state=StatsSG.users,
            getter=users_getter,
        ),
        Window(
            Multi(
                I18nFormat(__("{name} (id {user_id}): {window}")),
                Format("{totals}"),
                Multi(I18nFormat(__("By kind:")), Format("{kinds}"), sep="\n", when="kinds"),
                Multi(I18nFormat(__("By model:")), Format("{models}"), when="models"),
                Multi(I18nFormat(__("Recent errors:")), Format("{errors}"), when="errors"),
                sep="\n\n",
            ),
            SwitchTo(I18nFormat(__("‹ Back")), id="s_uback", state=StatsSG.users),
            state=StatsSG.user,
            getter=user_getter,
        ),
        Window(
            _listing(I18nFormat(__("Models by cost: {window}"))),
            back,
            state=StatsSG.models,
            getter=models_getter,
        ),
        tools_window(back),
    )
    # A demoted admin's old menu stops working too; and no typed input is expected.
    dialog.callback_query.filter(RoleIs(Role.ADMIN))
    dialog.message.filter(InputWindow())
    return dialog


async def cmd_stats(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(StatsSG.main, mode=StartMode.RESET_STACK)


def create_stats_router() -> Router:
    router = Router(name="stats-dialog")
    # The role filter makes /stats invisible to non-admins: the update falls through.
    # Private chats only: in a group the panel would show everyone's usage to the group.
    router.message.register(cmd_stats, Command("stats"), RoleIs(Role.ADMIN), OnLoop(PRIVATE_CHAT))
    router.include_router(stats_dialog())
    return router


__all__ = ["create_stats_router", "stats_dialog", "totals_text"]
