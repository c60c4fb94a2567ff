"""The Request access button (strangers) and the admins' Approve/Deny card buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from app.access import AccessService, DecisionOutcome, RequestOutcome
from app.bot.access.keyboards import AccessDecisionCallback, RequestAccessCallback, status_label
from app.bot.access.notify import AccessNotifier
from app.storage import UserRecord
from llmdoor import Role


def _request_text(outcome: RequestOutcome) -> str:
    texts: dict[RequestOutcome, str] = {
        RequestOutcome.CREATED: _(
            "✉️ Your request was sent to the admins. I'll tell you when they decide."
        ),
        RequestOutcome.PENDING: _(
            "⏳ Your request is already with the admins. Please wait for their decision."
        ),
        RequestOutcome.COOLDOWN: _(
            "Your last request was declined recently. Please try again later."
        ),
        RequestOutcome.ALREADY_ALLOWED: _("You already have access. Just write me a message!"),
        RequestOutcome.NO_ADMINS: _(
            "Sorry, no admin can be reached right now. Please try again later."
        ),
        RequestOutcome.TOO_MANY: _(
            "The admins have too many open requests right now. Please try again later."
        ),
    }
    return texts[outcome]


def create_access_requests_router() -> Router:
    router = Router(name="access_requests")

    @router.callback_query(RequestAccessCallback.filter())
    async def request_access(
        query: CallbackQuery,
        user_record: UserRecord,
        role: Role,
        access: AccessService,
        access_notifier: AccessNotifier,
    ) -> None:
        result = await access.request_access(user_record, role)
        outcome = result.outcome
        if outcome is RequestOutcome.CREATED and not await access_notifier.send_cards(result):
            if result.request is not None:
                await access.delivery_failed(result.request.id)
            outcome = RequestOutcome.NO_ADMINS
        text = _request_text(outcome)
        await query.answer(text, show_alert=outcome is not RequestOutcome.CREATED)
        if outcome is RequestOutcome.CREATED and isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
            await query.message.answer(text)

    @router.callback_query(AccessDecisionCallback.filter())
    async def decide(
        query: CallbackQuery,
        callback_data: AccessDecisionCallback,
        access: AccessService,
        access_notifier: AccessNotifier,
    ) -> None:
        if callback_data.action not in ("approve", "deny"):
            await query.answer(_("This menu has expired."), show_alert=True)
            return
        result = await access.decide(
            callback_data.request_id,
            query.from_user.id,
            approve=callback_data.action == "approve",
            admin_username=query.from_user.username,
        )
        request = result.request
        if result.outcome is DecisionOutcome.NOT_ADMIN:
            await query.answer(_("Only admins can decide access requests."), show_alert=True)
        elif result.outcome is DecisionOutcome.UNKNOWN:
            await query.answer(_("This request no longer exists."), show_alert=True)
        elif result.outcome is DecisionOutcome.ALREADY_DECIDED and request is not None:
            await query.answer(
                _("Already decided: {status}.").format(status=status_label(request.status)),
                show_alert=True,
            )
        else:
            await access_notifier.announce_decision(result)
            await query.answer(_("Done."))

    return router
