"""Button and input handlers of the /access menu. Decisions, revocations and budgets go
through AccessService (the one authority decides who may), and the notifier tells Telegram."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from app.access import parse_budget
from app.bot.access.keyboards import status_label
from app.bot.dialogs.access.texts import budget_text, request_label
from app.bot.dialogs.common import user_label
from app.bot.dialogs.states import AccessSG
from app.bot.workflow import services, update_data


def _admin(manager: DialogManager) -> User:
    return update_data(manager)["event_from_user"]


def _as_user_id(item: str) -> int | None:
    try:
        return int(item)
    except ValueError:
        return None


async def on_request(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    manager.dialog_data["request_id"] = item
    await manager.switch_to(AccessSG.request)


async def _decide(manager: DialogManager, approve: bool) -> None:
    svc = services(manager)
    request_id = manager.dialog_data["request_id"]
    admin = _admin(manager)
    result = await svc["access"].decide(
        request_id, admin.id, approve, admin_username=admin.username
    )
    await svc["access_notifier"].announce_decision(result)
    # Re-read rather than trust the outcome alone: another admin may have been faster.
    req = await svc["storage"].requests.get(request_id)
    if req is None:
        notice = _("This request no longer exists.")
    else:
        notice = _("Request of {name}: {status}.").format(
            name=request_label(req), status=status_label(req.status)
        )
    manager.dialog_data["notice"] = notice
    await manager.switch_to(AccessSG.pending)


async def on_approve(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _decide(manager, True)


async def on_deny(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _decide(manager, False)


async def _open_user(manager: DialogManager, item: str, window: State) -> None:
    """Open ``window`` for the user picked in a list; the budget window returns there."""
    uid = _as_user_id(item)
    if uid is None:
        return
    manager.dialog_data["user_id"] = uid
    manager.dialog_data["budget_back"] = (
        AccessSG.friend.state if window == AccessSG.friend else AccessSG.budgets.state
    )
    await manager.switch_to(window)


async def on_friend(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    await _open_user(manager, item, AccessSG.friend)


async def on_revoke(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    svc = services(manager)
    uid = int(manager.dialog_data["user_id"])
    admin = _admin(manager)
    ok = await svc["access"].revoke(uid, admin.id, admin_username=admin.username)
    rec = await svc["storage"].users.get(uid)
    name = user_label(uid, rec)
    manager.dialog_data["notice"] = (
        _("Access of {name} revoked.").format(name=name)
        if ok
        else _("Could not revoke access of {name}.").format(name=name)
    )
    await manager.switch_to(AccessSG.friends)


async def on_budget_user(
    callback: CallbackQuery, _w: Any, manager: DialogManager, item: str
) -> None:
    await _open_user(manager, item, AccessSG.budget_input)


async def _budget_done(manager: DialogManager, usd: float | None) -> None:
    svc = services(manager)
    uid = int(manager.dialog_data["user_id"])
    admin = _admin(manager)
    rec = await svc["access"].set_budget(uid, usd, admin.id, admin_username=admin.username)
    if rec is None:
        manager.dialog_data["notice"] = _("Only admins can set budgets.")
    else:
        manager.dialog_data["notice"] = _("Daily budget of {name} set to {budget}.").format(
            name=user_label(uid, rec), budget=budget_text(rec)
        )
    back = manager.dialog_data.get("budget_back", AccessSG.budgets.state)
    await manager.switch_to(AccessSG.friend if back == AccessSG.friend.state else AccessSG.budgets)


async def on_budget_text(message: Message, _w: Any, manager: DialogManager) -> None:
    try:
        usd = parse_budget(message.text or "")
    except ValueError:
        manager.dialog_data["notice"] = _(
            "That is not an amount. Send a number such as 2.50, or press No limit."
        )
        return
    await _budget_done(manager, usd)


async def on_no_limit(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _budget_done(manager, None)


async def on_budget_back(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    back = manager.dialog_data.get("budget_back", AccessSG.budgets.state)
    await manager.switch_to(AccessSG.friend if back == AccessSG.friend.state else AccessSG.budgets)
