"""Filters shared by the dialogs."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.state import State
from aiogram.types import Message, TelegramObject
from aiogram_dialog.api.internal import CONTEXT_KEY

from llmdoor import Role


class RoleIs(Filter):
    """Passes when the ``role`` the access middleware injected is one of ``roles``.

    A missing role never passes: admin menus must fail closed, and a non-match lets the
    update fall through to later routers (a non-admin's /stats then reads as an unknown
    command to the chat router, revealing nothing)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, role: Role | None = None) -> bool:
        return role in self.roles


class InputWindow(Filter):
    """Lets a dialog take a *message* only in windows that ask for typed input.

    aiogram-dialog's Dialog handles every message while its state group is on top of the
    stack (it re-shows the menu); a menu left open would then swallow the user's chat
    messages. Commands always fall through so /new, /model... keep working mid-input."""

    def __init__(self, *states: State) -> None:
        self.states = frozenset(states)

    async def __call__(self, event: TelegramObject, **data: Any) -> bool:
        context = data.get(CONTEXT_KEY)
        if context is None or context.state not in self.states:
            return False
        return not (isinstance(event, Message) and (event.text or "").startswith("/"))
