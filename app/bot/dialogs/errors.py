"""Expired or foreign menus: answer "this menu has expired" and open a fresh one.

aiogram-dialog raises UnknownIntent (the dialog context is gone: restart, FSM storage
cleared, context evicted), OutdatedIntent (a button of a dialog that is no longer on top)
or UnknownState (a state group that no longer exists, e.g. after an upgrade). Without a
handler these reach the logs as tracebacks and the user's button spins forever."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.state import State
from aiogram.types import ErrorEvent, User
from aiogram.utils.i18n import I18nMiddleware, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState
from aiogram_dialog.utils import remove_intent_id

from app.access import AccessAuthority
from app.bot.dialogs.states import (
    AccessSG,
    ChatsSG,
    MemorySG,
    ModelSG,
    PersonaSG,
    StatsSG,
    TasksSG,
    ToolsSG,
)
from app.storage.errors import StorageUnavailable
from llmdoor import Role

log = logging.getLogger(__name__)

EXPIRED_ERRORS: tuple[type[Exception], ...] = (UnknownIntent, OutdatedIntent, UnknownState)

# Every widget id of a dialog starts with its prefix, so the button pressed tells which
# menu to reopen even when its stored context is gone. (role needed, first window)
_MENUS: dict[str, tuple[frozenset[Role], State]] = {
    "m_": (frozenset({Role.ADMIN, Role.FRIEND}), ModelSG.providers),
    "s_": (frozenset({Role.ADMIN}), StatsSG.main),
    "a_": (frozenset({Role.ADMIN}), AccessSG.main),
    "c_": (frozenset({Role.ADMIN, Role.FRIEND}), ChatsSG.list),
    "p_": (frozenset({Role.ADMIN, Role.FRIEND}), PersonaSG.main),
    "t_": (frozenset({Role.ADMIN, Role.FRIEND}), ToolsSG.main),
    "y_": (frozenset({Role.ADMIN, Role.FRIEND}), MemorySG.main),
    "k_": (frozenset({Role.ADMIN, Role.FRIEND}), TasksSG.list),
}


def menu_for_callback(data: str | None) -> tuple[frozenset[Role], State] | None:
    if not data:
        return None
    _intent, widget_data = remove_intent_id(data)
    for prefix, menu in _MENUS.items():
        if widget_data.startswith(prefix):
            return menu
    return None


async def _role(data: dict[str, Any], user: User) -> Role:
    """The role from the access middleware; asked of the authority if the error came before
    the middleware ran."""
    role = data.get("role")
    if role is not None:
        return Role(role)
    authority: AccessAuthority | None = data.get("authority")
    if authority is None:
        return Role.STRANGER
    try:
        return await authority.role(user.id, user.username)
    except StorageUnavailable:
        return Role.STRANGER


async def on_expired_menu(
    event: ErrorEvent, dialog_manager: DialogManager | None = None, **data: Any
) -> None:
    # The i18n middleware sits on the update observer, inside aiogram's ErrorsMiddleware,
    # so its gettext context is already gone here: re-enter it for the user's locale.
    middleware: I18nMiddleware | None = data.get("i18n_middleware")
    if _has_i18n_context() or middleware is None:
        await _handle_expired(event, dialog_manager, data)
        return
    locale = await middleware.get_locale(event=event.update.event, data=data)
    with middleware.i18n.context(), middleware.i18n.use_locale(locale):
        await _handle_expired(event, dialog_manager, data)


def _has_i18n_context() -> bool:
    try:
        get_i18n()
    except LookupError:
        return False
    return True


async def _handle_expired(
    event: ErrorEvent, dialog_manager: DialogManager | None, data: dict[str, Any]
) -> None:
    log.info("dialogs: expired menu (%s: %s)", type(event.exception).__name__, event.exception)
    callback = event.update.callback_query
    if callback is None:
        # A reply to an old menu message: nothing to answer, the update is just dropped.
        return
    await callback.answer(_("This menu has expired. Here is a fresh one."))
    menu = menu_for_callback(callback.data)
    if menu is None or dialog_manager is None:
        return
    roles, state = menu
    if await _role(data, callback.from_user) not in roles:
        return
    await dialog_manager.start(state, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


def register_dialog_error_handlers(router: Router) -> None:
    """Register on the Dispatcher (or a router that sees the dialogs' errors)."""
    router.errors.register(on_expired_menu, ExceptionTypeFilter(*EXPIRED_ERRORS))
