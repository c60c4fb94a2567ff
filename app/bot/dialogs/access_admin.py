"""/access (admins only): pending requests, friends, revocation and daily budgets.

Decisions go through AccessService (``access`` in workflow data) so admin cards are
edited and the user is told, exactly as with the Approve/Deny card buttons."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from app.access import AccessAuthority, parse_budget
from app.bot.dialogs.common import fmt_usd, paged_select, user_label
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import AccessSG
from app.bot.keyboards.access import status_label
from app.bot.workflow import services
from app.llm.access import Role
from app.storage import AccessRequest, Storage, UserRecord

log = logging.getLogger(__name__)

# Widget ids start with "a_": the expired-menu handler maps the prefix back to this dialog.


def _budget_text(record: UserRecord | None, default: float | None = None) -> str:
    if record is None or record.daily_budget_usd is None:
        if default is not None:
            return _("{amount} per day (default)").format(amount=fmt_usd(default))
        return _("no limit")
    return _("{amount} per day").format(amount=fmt_usd(record.daily_budget_usd))


def _request_label(req: AccessRequest) -> str:
    if req.username:
        return f"@{req.username}"
    return req.full_name or str(req.user_id)


def _with_notice(manager: DialogManager, text: str) -> str:
    """Prepend a one-shot notice (the result of the last action) to a window's text."""
    notice = manager.dialog_data.pop("notice", None)
    return f"{notice}\n\n{text}" if notice else text


def _bindings_text(bound: dict[str, int], names: frozenset[str]) -> str:
    parts = [
        f"@{name} → {bound[name]}" if name in bound else f"@{name} → " + _("not seen yet")
        for name in sorted(names)
    ]
    return ", ".join(parts) if parts else "—"


# ---------------------------------------------------------------------------- getters


async def main_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    s = authority.settings
    pending = await storage.requests.list_pending()
    approved = await storage.users.list_approved()
    configured = len(s.friend_ids) + len(s.friend_usernames)
    text = _(
        "Access management\n\n"
        "Pending requests: {pending}\n"
        "Approved users: {approved}\n"
        "Friends in settings: {configured}"
    ).format(pending=len(pending), approved=len(approved), configured=configured)
    if s.admin_usernames:
        bound = await authority.bound_usernames()
        text += "\n" + _("Admins by name (bound to the first id seen): {names}").format(
            names=_bindings_text(bound, s.admin_usernames)
        )
    return {
        "text": _with_notice(dialog_manager, text),
        "btn_pending": _("Pending requests ({count})").format(count=len(pending)),
        "btn_friends": _("Friends"),
        "btn_budgets": _("Budgets"),
        "btn_close": _("Close"),
    }


async def pending_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    pending = await storage.requests.list_pending()
    if pending:
        text = _("Pending access requests (oldest first). Choose one to decide:")
    else:
        text = _("No pending access requests.")
    items = [
        {
            "id": r.id,
            "label": _("{name} (id {user_id})").format(name=_request_label(r), user_id=r.user_id),
        }
        for r in pending
    ]
    return {"text": _with_notice(dialog_manager, text), "requests": items, "btn_back": _("‹ Back")}


async def request_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    req = await storage.requests.get(dialog_manager.dialog_data["request_id"])
    if req is None:
        return {"text": _("This request no longer exists."), "is_pending": False}
    text = _(
        "Access request\n\nUser: {name}\nId: {user_id}\nName: {full_name}\nRequested: {created}"
    ).format(
        name=_request_label(req),
        user_id=req.user_id,
        full_name=req.full_name or "—",
        created=req.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
    if req.status != "pending":
        text += "\n\n" + _("Already decided: {status}.").format(status=status_label(req.status))
    return {
        "text": text,
        "is_pending": req.status == "pending",
        "btn_approve": _("✅ Approve"),
        "btn_deny": _("❌ Deny"),
        "btn_back": _("‹ Back"),
    }


async def friends_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    s = authority.settings
    approved = await storage.users.list_approved()
    bound = await authority.bound_usernames()
    configured = [str(i) for i in sorted(s.friend_ids)]
    if s.friend_usernames:
        configured.append(_bindings_text(bound, s.friend_usernames))
    lines = [
        _("Friends in settings (change them in ACCESS_FRIENDS): {names}").format(
            names=", ".join(configured) if configured else "—"
        ),
        _("Approved users: {count}. Choose one to revoke access or set a budget.").format(
            count=len(approved)
        )
        if approved
        else _("No approved users."),
    ]
    default = s.default_daily_budget_usd
    users = [
        {"id": str(r.user_id), "label": f"{user_label(r.user_id, r)} · {_budget_text(r, default)}"}
        for r in approved
    ]
    text = "\n\n".join(lines)
    return {"text": _with_notice(dialog_manager, text), "users": users, "btn_back": _("‹ Back")}


async def friend_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await storage.users.get(uid)
    text = _("User: {name}\nId: {user_id}\nApproved: {approved}\nDaily budget: {budget}").format(
        name=user_label(uid, rec),
        user_id=uid,
        approved=_("yes") if rec and rec.approved else _("no"),
        budget=_budget_text(rec, authority.settings.default_daily_budget_usd),
    )
    return {
        "text": _with_notice(dialog_manager, text),
        "can_revoke": bool(rec and rec.approved),
        "btn_budget": _("Set budget"),
        "btn_revoke": _("Revoke access"),
        "btn_back": _("‹ Back"),
    }


async def revoke_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await storage.users.get(uid)
    return {
        "text": _("Revoke access of {name}? They will have to request access again.").format(
            name=user_label(uid, rec)
        ),
        "btn_confirm": _("Yes, revoke"),
        "btn_cancel": _("No, keep"),
    }


async def budgets_getter(
    dialog_manager: DialogManager, authority: AccessAuthority, **_kwargs: Any
) -> dict[str, Any]:
    users = await authority.budgetable_users()
    default = authority.settings.default_daily_budget_usd
    text = (
        _("Daily cost budgets (UTC days; admins are never limited). Choose a user:")
        if users
        else _("No approved users or friends yet.")
    )
    items = [
        {"id": str(uid), "label": f"{user_label(uid, rec)} · {_budget_text(rec, default)}"}
        for uid, rec in users
    ]
    return {"text": _with_notice(dialog_manager, text), "users": items, "btn_back": _("‹ Back")}


async def budget_input_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await storage.users.get(uid)
    text = _(
        "Daily budget of {name}: {budget}.\n\n"
        "Send the new limit in USD (for example 2.50), or press No limit."
    ).format(
        name=user_label(uid, rec),
        budget=_budget_text(rec, authority.settings.default_daily_budget_usd),
    )
    return {
        "text": _with_notice(dialog_manager, text),
        "btn_nolimit": _("No limit"),
        "btn_back": _("‹ Back"),
    }


# ---------------------------------------------------------------------------- actions


def _admin(manager: DialogManager) -> User:
    user: User = manager.middleware_data["event_from_user"]
    return user


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
            name=_request_label(req), status=status_label(req.status)
        )
    manager.dialog_data["notice"] = notice
    await manager.switch_to(AccessSG.pending)


async def on_approve(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _decide(manager, True)


async def on_deny(callback: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _decide(manager, False)


async def on_friend(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    uid = _as_user_id(item)
    if uid is None:
        return
    manager.dialog_data["user_id"] = uid
    manager.dialog_data["budget_back"] = AccessSG.friend.state
    await manager.switch_to(AccessSG.friend)


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
    uid = _as_user_id(item)
    if uid is None:
        return
    manager.dialog_data["user_id"] = uid
    manager.dialog_data["budget_back"] = AccessSG.budgets.state
    await manager.switch_to(AccessSG.budget_input)


async def _budget_done(manager: DialogManager, usd: float | None) -> None:
    svc = services(manager)
    uid = int(manager.dialog_data["user_id"])
    admin = _admin(manager)
    rec = await svc["access"].set_budget(uid, usd, admin.id, admin_username=admin.username)
    if rec is None:
        manager.dialog_data["notice"] = _("Only admins can set budgets.")
    else:
        manager.dialog_data["notice"] = _("Daily budget of {name} set to {budget}.").format(
            name=user_label(uid, rec), budget=_budget_text(rec)
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


# ---------------------------------------------------------------------------- dialog


def access_dialog() -> Dialog:
    to_main = SwitchTo(Format("{btn_back}"), id="a_back", state=AccessSG.main)
    dialog = Dialog(
        Window(
            Format("{text}"),
            SwitchTo(Format("{btn_pending}"), id="a_pending", state=AccessSG.pending),
            Row(
                SwitchTo(Format("{btn_friends}"), id="a_friends", state=AccessSG.friends),
                SwitchTo(Format("{btn_budgets}"), id="a_budgets", state=AccessSG.budgets),
            ),
            Cancel(Format("{btn_close}"), id="a_close"),
            state=AccessSG.main,
            getter=main_getter,
        ),
        Window(
            Format("{text}"),
            paged_select("a_req", "requests", on_request),
            to_main,
            state=AccessSG.pending,
            getter=pending_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                Button(Format("{btn_approve}"), id="a_approve", on_click=on_approve),
                Button(Format("{btn_deny}"), id="a_deny", on_click=on_deny),
                when="is_pending",
            ),
            SwitchTo(Format("{btn_back}"), id="a_rback", state=AccessSG.pending),
            state=AccessSG.request,
            getter=request_getter,
        ),
        Window(
            Format("{text}"),
            paged_select("a_friend", "users", on_friend),
            to_main,
            state=AccessSG.friends,
            getter=friends_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                SwitchTo(Format("{btn_budget}"), id="a_setbudget", state=AccessSG.budget_input),
                SwitchTo(
                    Format("{btn_revoke}"), id="a_revoke", state=AccessSG.revoke, when="can_revoke"
                ),
            ),
            SwitchTo(Format("{btn_back}"), id="a_fback", state=AccessSG.friends),
            state=AccessSG.friend,
            getter=friend_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                Button(Format("{btn_confirm}"), id="a_revoke_yes", on_click=on_revoke),
                SwitchTo(Format("{btn_cancel}"), id="a_revoke_no", state=AccessSG.friend),
            ),
            state=AccessSG.revoke,
            getter=revoke_getter,
        ),
        Window(
            Format("{text}"),
            paged_select("a_budget", "users", on_budget_user),
            to_main,
            state=AccessSG.budgets,
            getter=budgets_getter,
        ),
        Window(
            Format("{text}"),
            MessageInput(on_budget_text, content_types="text"),
            Button(Format("{btn_nolimit}"), id="a_nolimit", on_click=on_no_limit),
            Button(Format("{btn_back}"), id="a_bback", on_click=on_budget_back),
            state=AccessSG.budget_input,
            getter=budget_input_getter,
        ),
    )
    # Only admins may press these buttons (a demoted admin's old menu stops working), and
    # only the budget window takes typed text; other messages fall through to the chat.
    dialog.callback_query.filter(RoleIs(Role.ADMIN))
    dialog.message.filter(RoleIs(Role.ADMIN), InputWindow(AccessSG.budget_input))
    return dialog


async def cmd_access(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(AccessSG.main, mode=StartMode.RESET_STACK)


def create_access_router() -> Router:
    router = Router(name="access-dialog")
    # Private chats only: the menu lists users, ids and budgets.
    router.message.register(
        cmd_access, Command("access"), RoleIs(Role.ADMIN), F.chat.type == ChatType.PRIVATE
    )
    router.include_router(access_dialog())
    return router


__all__ = ["create_access_router"]
