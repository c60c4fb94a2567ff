"""/access (admins only): pending requests, friends, revocation and daily budgets.

Decisions go through AccessService (``access`` in workflow data) so admin cards are
edited and the user is told, exactly as with the Approve/Deny card buttons."""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from app.access.cards import status_label
from app.bot.dialogs.common import fmt_usd, middleware, paged_select, user_label
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import AccessSG
from app.config import Settings
from app.llm.access import Role
from app.storage import AccessRequest, Storage, UserRecord

log = logging.getLogger(__name__)

# Widget ids start with "a_": the expired-menu handler maps the prefix back to this dialog.
MAX_BUDGET_USD = 100_000.0


class AccessActions(Protocol):
    """The part of app.access.AccessService this menu uses."""

    async def decide(
        self, request_id: str, admin_id: int, approve: bool, admin_username: str | None = None
    ) -> Any: ...

    async def revoke(
        self, user_id: int, admin_id: int, admin_username: str | None = None
    ) -> bool: ...


def parse_budget(text: str) -> float:
    """'2.5', '$2.50', '2,50' -> 2.5. Raises ValueError for anything not a sane amount."""
    cleaned = text.strip().lstrip("$").strip().replace(",", ".").replace(" ", "")
    value = float(cleaned)
    if not math.isfinite(value) or value < 0 or value > MAX_BUDGET_USD:
        raise ValueError(text)
    return round(value, 6)


def _storage(manager: DialogManager) -> Storage:
    storage: Storage = middleware(manager, "storage")
    return storage


def _admin(manager: DialogManager) -> User:
    user: User = middleware(manager, "event_from_user")
    return user


def _budget_text(record: UserRecord | None) -> str:
    if record is None or record.daily_budget_usd is None:
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


async def known_users(storage: Storage, settings: Settings) -> list[tuple[int, UserRecord | None]]:
    """Users an admin may budget: approved ones plus friends named in ACCESS_FRIENDS
    (by id, or by @username once that user has written to the bot). Admins are never
    limited, so they are left out."""
    access = settings.access
    found: dict[int, UserRecord | None] = {}
    for approved in await storage.users.list_approved():
        found[approved.user_id] = approved
    for uid in sorted(access.friend_ids):
        if uid not in found:
            found[uid] = await storage.users.get(uid)
    for name in sorted(access.friend_usernames):
        rec = await storage.users.find_by_username(name)
        if rec is not None:
            found.setdefault(rec.user_id, rec)
    return [
        (uid, rec)
        for uid, rec in sorted(found.items())
        if uid not in access.admin_ids
        and not (rec and rec.username and rec.username.lower() in access.admin_usernames)
    ]


# ---------------------------------------------------------------------------- getters


async def main_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    storage = _storage(dialog_manager)
    settings: Settings = middleware(dialog_manager, "settings")
    pending = await storage.requests.list_pending()
    approved = await storage.users.list_approved()
    configured = len(settings.access.friend_ids) + len(settings.access.friend_usernames)
    text = _(
        "Access management\n\n"
        "Pending requests: {pending}\n"
        "Approved users: {approved}\n"
        "Friends in settings: {configured}"
    ).format(pending=len(pending), approved=len(approved), configured=configured)
    return {
        "text": _with_notice(dialog_manager, text),
        "btn_pending": _("Pending requests ({count})").format(count=len(pending)),
        "btn_friends": _("Friends"),
        "btn_budgets": _("Budgets"),
        "btn_close": _("Close"),
    }


async def pending_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    pending = await _storage(dialog_manager).requests.list_pending()
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


async def request_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    req = await _storage(dialog_manager).requests.get(dialog_manager.dialog_data["request_id"])
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


async def friends_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    storage = _storage(dialog_manager)
    settings: Settings = middleware(dialog_manager, "settings")
    approved = await storage.users.list_approved()
    configured = [str(i) for i in sorted(settings.access.friend_ids)] + [
        f"@{n}" for n in sorted(settings.access.friend_usernames)
    ]
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
    users = [
        {"id": str(r.user_id), "label": f"{user_label(r.user_id, r)} · {_budget_text(r)}"}
        for r in approved
    ]
    text = "\n\n".join(lines)
    return {"text": _with_notice(dialog_manager, text), "users": users, "btn_back": _("‹ Back")}


async def friend_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await _storage(dialog_manager).users.get(uid)
    text = _("User: {name}\nId: {user_id}\nApproved: {approved}\nDaily budget: {budget}").format(
        name=user_label(uid, rec),
        user_id=uid,
        approved=_("yes") if rec and rec.approved else _("no"),
        budget=_budget_text(rec),
    )
    return {
        "text": _with_notice(dialog_manager, text),
        "can_revoke": bool(rec and rec.approved),
        "btn_budget": _("Set budget"),
        "btn_revoke": _("Revoke access"),
        "btn_back": _("‹ Back"),
    }


async def revoke_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await _storage(dialog_manager).users.get(uid)
    return {
        "text": _("Revoke access of {name}? They will have to request access again.").format(
            name=user_label(uid, rec)
        ),
        "btn_confirm": _("Yes, revoke"),
        "btn_cancel": _("No, keep"),
    }


async def budgets_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    settings: Settings = middleware(dialog_manager, "settings")
    users = await known_users(_storage(dialog_manager), settings)
    text = (
        _("Daily cost budgets (UTC days; admins are never limited). Choose a user:")
        if users
        else _("No approved users or friends yet.")
    )
    items = [
        {"id": str(uid), "label": f"{user_label(uid, rec)} · {_budget_text(rec)}"}
        for uid, rec in users
    ]
    return {"text": _with_notice(dialog_manager, text), "users": items, "btn_back": _("‹ Back")}


async def budget_input_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    uid = int(dialog_manager.dialog_data["user_id"])
    rec = await _storage(dialog_manager).users.get(uid)
    text = _(
        "Daily budget of {name}: {budget}.\n\n"
        "Send the new limit in USD (for example 2.50), or press No limit."
    ).format(name=user_label(uid, rec), budget=_budget_text(rec))
    return {
        "text": _with_notice(dialog_manager, text),
        "btn_nolimit": _("No limit"),
        "btn_back": _("‹ Back"),
    }


# ---------------------------------------------------------------------------- actions


def _access(manager: DialogManager) -> AccessActions:
    access: AccessActions = middleware(manager, "access")
    return access


def _as_user_id(item: str) -> int | None:
    try:
        return int(item)
    except ValueError:
        return None


async def on_request(callback: CallbackQuery, _w: Any, manager: DialogManager, item: str) -> None:
    manager.dialog_data["request_id"] = item
    await manager.switch_to(AccessSG.request)


async def _decide(manager: DialogManager, approve: bool) -> None:
    storage = _storage(manager)
    request_id = manager.dialog_data["request_id"]
    admin = _admin(manager)
    await _access(manager).decide(request_id, admin.id, approve, admin_username=admin.username)
    # Re-read rather than trust the return value: another admin may have been faster.
    req = await storage.requests.get(request_id)
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
    uid = int(manager.dialog_data["user_id"])
    admin = _admin(manager)
    ok = await _access(manager).revoke(uid, admin.id, admin_username=admin.username)
    rec = await _storage(manager).users.get(uid)
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
    uid = int(manager.dialog_data["user_id"])
    rec = await _storage(manager).users.set_budget(uid, usd)
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


__all__ = ["AccessActions", "create_access_router", "known_users", "parse_budget"]
