"""Getters of the /access menu: services arrive as typed keyword arguments (aiogram-dialog
calls ``getter(**middleware_data)``); fixed labels live in the windows (I18nFormat)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from app.access import AccessAuthority
from app.bot.access.keyboards import status_label
from app.bot.dialogs.access.texts import bindings_text, budget_text, request_label, with_notice
from app.bot.dialogs.common import user_label
from app.storage import Storage, UserRecord


async def _picked_user(manager: DialogManager, storage: Storage) -> tuple[int, UserRecord | None]:
    uid = int(manager.dialog_data["user_id"])
    return uid, await storage.users.get(uid)


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
            names=bindings_text(bound, s.admin_usernames)
        )
    return {
        "text": with_notice(dialog_manager, text),
        "count": len(pending),
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
            "label": _("{name} (id {user_id})").format(name=request_label(r), user_id=r.user_id),
        }
        for r in pending
    ]
    return {"text": with_notice(dialog_manager, text), "requests": items}


async def request_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    req = await storage.requests.get(dialog_manager.dialog_data["request_id"])
    if req is None:
        return {"text": _("This request no longer exists."), "is_pending": False}
    text = _(
        "Access request\n\nUser: {name}\nId: {user_id}\nName: {full_name}\nRequested: {created}"
    ).format(
        name=request_label(req),
        user_id=req.user_id,
        full_name=req.full_name or "—",
        created=req.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
    if req.status != "pending":
        text += "\n\n" + _("Already decided: {status}.").format(status=status_label(req.status))
    return {
        "text": text,
        "is_pending": req.status == "pending",
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
        configured.append(bindings_text(bound, s.friend_usernames))
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
        {"id": str(r.user_id), "label": f"{user_label(r.user_id, r)} · {budget_text(r, default)}"}
        for r in approved
    ]
    text = "\n\n".join(lines)
    return {"text": with_notice(dialog_manager, text), "users": users}


async def friend_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    uid, rec = await _picked_user(dialog_manager, storage)
    text = _("User: {name}\nId: {user_id}\nApproved: {approved}\nDaily budget: {budget}").format(
        name=user_label(uid, rec),
        user_id=uid,
        approved=_("yes") if rec and rec.approved else _("no"),
        budget=budget_text(rec, authority.settings.default_daily_budget_usd),
    )
    return {
        "text": with_notice(dialog_manager, text),
        "can_revoke": bool(rec and rec.approved),
    }


async def revoke_getter(
    dialog_manager: DialogManager, storage: Storage, **_kwargs: Any
) -> dict[str, Any]:
    uid, rec = await _picked_user(dialog_manager, storage)
    return {
        "text": _("Revoke access of {name}? They will have to request access again.").format(
            name=user_label(uid, rec)
        ),
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
        {"id": str(uid), "label": f"{user_label(uid, rec)} · {budget_text(rec, default)}"}
        for uid, rec in users
    ]
    return {"text": with_notice(dialog_manager, text), "users": items}


async def budget_input_getter(
    dialog_manager: DialogManager,
    storage: Storage,
    authority: AccessAuthority,
    **_kwargs: Any,
) -> dict[str, Any]:
    uid, rec = await _picked_user(dialog_manager, storage)
    text = _(
        "Daily budget of {name}: {budget}.\n\n"
        "Send the new limit in USD (for example 2.50), or press No limit."
    ).format(
        name=user_label(uid, rec),
        budget=budget_text(rec, authority.settings.default_daily_budget_usd),
    )
    return {
        "text": with_notice(dialog_manager, text),
    }
