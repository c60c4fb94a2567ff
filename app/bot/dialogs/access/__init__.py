"""/access (admins only): pending requests, friends, revocation and daily budgets.

Decisions go through AccessService (``access`` in workflow data) so admin cards are
edited and the user is told, exactly as with the Approve/Deny card buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from app.bot.chat.threads import PRIVATE_CHAT
from app.bot.dialogs.access.actions import (
    on_approve,
    on_budget_back,
    on_budget_text,
    on_budget_user,
    on_deny,
    on_friend,
    on_no_limit,
    on_request,
    on_revoke,
)
from app.bot.dialogs.access.getters import (
    budget_input_getter,
    budgets_getter,
    friend_getter,
    friends_getter,
    main_getter,
    pending_getter,
    request_getter,
    revoke_getter,
)
from app.bot.dialogs.common import paged_select
from app.bot.dialogs.filters import InputWindow, RoleIs
from app.bot.dialogs.states import AccessSG
from app.bot.dialogs.widgets import I18nFormat
from app.bot.filters import OnLoop
from llmdoor import Role

# Widget ids start with "a_": the expired-menu handler maps the prefix back to this dialog.


def access_dialog() -> Dialog:
    to_main = SwitchTo(I18nFormat(__("‹ Back")), id="a_back", state=AccessSG.main)
    dialog = Dialog(
        Window(
            Format("{text}"),
            SwitchTo(
                I18nFormat(__("Pending requests ({count})")), id="a_pending", state=AccessSG.pending
            ),
            Row(
                SwitchTo(I18nFormat(__("Friends")), id="a_friends", state=AccessSG.friends),
                SwitchTo(I18nFormat(__("Budgets")), id="a_budgets", state=AccessSG.budgets),
            ),
            Cancel(I18nFormat(__("Close")), id="a_close"),
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
                Button(I18nFormat(__("✅ Approve")), id="a_approve", on_click=on_approve),
                Button(I18nFormat(__("❌ Deny")), id="a_deny", on_click=on_deny),
                when="is_pending",
            ),
            SwitchTo(I18nFormat(__("‹ Back")), id="a_rback", state=AccessSG.pending),
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
                SwitchTo(
                    I18nFormat(__("Set budget")), id="a_setbudget", state=AccessSG.budget_input
                ),
                SwitchTo(
                    I18nFormat(__("Revoke access")),
                    id="a_revoke",
                    state=AccessSG.revoke,
                    when="can_revoke",
                ),
            ),
            SwitchTo(I18nFormat(__("‹ Back")), id="a_fback", state=AccessSG.friends),
            state=AccessSG.friend,
            getter=friend_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                Button(I18nFormat(__("Yes, revoke")), id="a_revoke_yes", on_click=on_revoke),
                SwitchTo(I18nFormat(__("No, keep")), id="a_revoke_no", state=AccessSG.friend),
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
            Button(I18nFormat(__("No limit")), id="a_nolimit", on_click=on_no_limit),
            Button(I18nFormat(__("‹ Back")), id="a_bback", on_click=on_budget_back),
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
    router.message.register(cmd_access, Command("access"), RoleIs(Role.ADMIN), OnLoop(PRIVATE_CHAT))
    router.include_router(access_dialog())
    return router


__all__ = ["create_access_router"]
