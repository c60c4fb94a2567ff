"""What an admin's /start says instead of the command list: the owner's first steps."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def owner_guide_lines() -> list[str]:
    """Plain text lines (no markup): the caller escapes them for its format."""
    return [
        _("You are an admin of this bot. Your first steps:"),
        _(
            "1. Invite friends: send them this bot's link. When they press "
            "“Request access”, an approval card with Approve and Deny comes to you here. "
            "Or put their numeric ids in ACCESS_FRIENDS."
        ),
        _(
            "2. Budgets: /access sets each friend's daily budget; "
            "ACCESS_DEFAULT_DAILY_BUDGET_USD is everyone's default."
        ),
        _(
            "3. Models: /model picks yours; LLM_DEFAULT_MODEL is everyone's default, "
            "LLM_SHORTCUTS adds your own names."
        ),
        _("4. Statistics: /stats shows usage and cost per user, model and day."),
        _("/help lists every command."),
    ]
