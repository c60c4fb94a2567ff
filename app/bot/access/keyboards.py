"""Access request keyboards and the admin's Approve/Deny card texts (HTML, user data escaped)."""

from __future__ import annotations

import html

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from app.storage import AccessRequest


class AccessDecisionCallback(CallbackData, prefix="acc"):
    action: str  # "approve" | "deny"
    request_id: str


class RequestAccessCallback(CallbackData, prefix="reqacc"):
    pass


def _who(request: AccessRequest) -> str:
    name = html.escape(request.full_name or "—")
    username = f"@{html.escape(request.username)}" if request.username else _("no username")
    link = f'<a href="tg://user?id={request.user_id}">{name}</a>'
    return f"{link} ({username}, id <code>{request.user_id}</code>)"


def status_label(status: str) -> str:
    return {
        "pending": _("pending"),
        "approved": _("approved"),
        "denied": _("denied"),
        "revoked": _("revoked"),
    }.get(status, status)


def admin_card_text(request: AccessRequest) -> str:
    return _("🔑 Access request from {who}").format(who=_who(request))


def decided_card_text(request: AccessRequest, admin_name: str) -> str:
    if request.status == "approved":
        verdict = _("✅ Approved by {admin}").format(admin=admin_name)
    else:
        verdict = _("⛔ Denied by {admin}").format(admin=admin_name)
    return f"{admin_card_text(request)}\n{verdict}"


def admin_card_keyboard(request_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Approve"),
                    callback_data=AccessDecisionCallback(
                        action="approve", request_id=request_id
                    ).pack(),
                ),
                InlineKeyboardButton(
                    text=_("⛔ Deny"),
                    callback_data=AccessDecisionCallback(
                        action="deny", request_id=request_id
                    ).pack(),
                ),
            ]
        ]
    )


def request_access_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🔑 Request access"), callback_data=RequestAccessCallback().pack()
                )
            ]
        ]
    )
