"""Texts of the /access menu that depend on data (labels, budgets, name bindings)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager

from app.bot.dialogs.common import fmt_usd
from app.storage import AccessRequest, UserRecord


def budget_text(record: UserRecord | None, default: float | None = None) -> str:
    if record is None or record.daily_budget_usd is None:
        if default is not None:
            return _("{amount} per day (default)").format(amount=fmt_usd(default))
        return _("no limit")
    return _("{amount} per day").format(amount=fmt_usd(record.daily_budget_usd))


def request_label(req: AccessRequest) -> str:
    if req.username:
        return f"@{req.username}"
    return req.full_name or str(req.user_id)


def with_notice(manager: DialogManager, text: str) -> str:
    """Prepend a one-shot notice (the result of the last action) to a window's text."""
    notice = manager.dialog_data.pop("notice", None)
    return f"{notice}\n\n{text}" if notice else text


def bindings_text(bound: dict[str, int], names: frozenset[str]) -> str:
    parts = [
        f"@{name} → {bound[name]}" if name in bound else f"@{name} → " + _("not seen yet")
        for name in sorted(names)
    ]
    return ", ".join(parts) if parts else "—"
