"""The buttons on answers and /stop. Thin: ownership from the callback data, everything
else (latest answer, history, model call) in AnswerControls and ChatService."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, MessageGenerationStopped
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from app.bot.chat.keyboards import (
    AnswerAction,
    AnswerCallback,
    StopCallback,
    answer_keyboard,
    model_check,
    models_keyboard,
)
from app.bot.chat.opener import AnswerOpener
from app.bot.chat.sink import remove_buttons
from app.bot.chat.threads import is_private, thread_of
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.config import Settings
from app.services.chat.controls import (
    AnswerControls,
    ControlPress,
    ControlResult,
    ControlStatus,
)
from app.services.chat.running import RunningAnswers
from app.services.models import ModelChosen, ModelService
from app.storage import UserRecord
from llmdoor import Caller, Role, ensure_loaded

log = logging.getLogger(__name__)


def picker_names(models: ModelService, role: Role, settings: Settings) -> list[str]:
    """The user's allowed models, the operator's own shortcuts first (the built-in list is
    long; the picker shows a few)."""
    names = [m.shortcut or m.model_id for m in models.catalog(role) if m.available]
    own = set(settings.llm.shortcuts)
    return [n for n in names if n in own] + [n for n in names if n not in own]


def used_name(models: ModelService, role: Role, used: str | None) -> str:
    """The picker's name for the model the answer came from ("" when it is not offered)."""
    for m in models.catalog(role):
        if used is not None and used in (m.model_id, m.shortcut):
            return m.shortcut or m.model_id
    return ""


async def _expired(query: CallbackQuery, message: Message, bot: Bot, limiter: AsyncLimiter) -> None:
    await query.answer(_("These buttons have expired: they work on the latest answer only."))
    # Only the latest answer carries buttons: take them off this one.
    await remove_buttons(bot, message.chat.id, message.message_id, limiter)


async def _set_markup(message: Message, markup: InlineKeyboardMarkup) -> None:
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest as exc:  # unchanged (a double press) or gone
        log.info("answer buttons not changed on message %s: %s", message.message_id, exc)


def create_answer_controls_router() -> Router:
    router = Router(name="answer_controls")
    # Regenerate and Continue stream for a while: /stop must get through meanwhile.
    router.callback_query.middleware(release_dialog_lock)

    @router.message(Command("stop"))
    async def stop_command(
        message: Message, user_record: UserRecord, running_answers: RunningAnswers
    ) -> None:
        # In a forum, /stop sent in a topic stops the answers of that topic only.
        if not running_answers.stop(user_record.user_id, message.chat.id, thread_of(message)):
            await message.reply(_("Nothing to stop: no answer of yours is being written here."))
        # Otherwise the answer itself says it was stopped.

    @router.stopped_message_generation()
    async def native_stop(
        event: MessageGenerationStopped, user_record: UserRecord, running_answers: RunningAnswers
    ) -> None:
        # Telegram's own Stop under a rich draft: the same stop as ⏹ and /stop. The draft id
        # names the answer; nothing is said (the answer itself says it was stopped, and a
        # press after its end has nothing left to stop).
        running_answers.stop(user_record.user_id, event.chat.id, draft_id=event.draft_id)

    @router.callback_query(StopCallback.filter())
    async def stop_button(
        query: CallbackQuery, callback_data: StopCallback, running_answers: RunningAnswers
    ) -> None:
        if query.from_user.id != callback_data.owner or not isinstance(query.message, Message):
            await query.answer(_("Only the person who asked can stop this answer."))
            return
        stopped = running_answers.stop(
            callback_data.owner, query.message.chat.id, token=callback_data.token
        )
        await query.answer(_("⏹ Stopping…") if stopped else _("This answer is already finished."))

    @router.callback_query(AnswerCallback.filter())
    async def answer_button(
        query: CallbackQuery,
        callback_data: AnswerCallback,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        role: Role,
        settings: Settings,
        bot_limiter: AsyncLimiter,
        answer_controls: AnswerControls,
        answer_opener: AnswerOpener,
        models: ModelService,
    ) -> None:
        message = query.message
        if not isinstance(message, Message):
            await query.answer(_("This menu has expired."))
            return
        if query.from_user.id != callback_data.owner:
            # In groups everyone sees the buttons; they belong to whoever asked.
            await query.answer(_("These buttons belong to the person who asked."))
            return
        user_id, chat_id = user_record.user_id, message.chat.id
        thread_id = thread_of(message)
        status = await answer_controls.is_latest(user_id, chat_id, message.message_id, thread_id)
        if status is ControlStatus.UNAVAILABLE:
            await query.answer(_("⚠️ The database is unavailable right now. Try again later."))
            return
        if status is ControlStatus.EXPIRED:
            await _expired(query, message, bot, bot_limiter)
            return
        action = callback_data.action
        if action is AnswerAction.MODELS:
            await ensure_loaded()  # the catalog needs litellm's model map
            names = picker_names(models, role, settings)
            used = await answer_controls.answer_model(
                user_id, chat_id, message.message_id, thread_id
            )
            await query.answer()
            await _set_markup(
                message, models_keyboard(user_id, names, used_name(models, role, used))
            )
            return
        if action is AnswerAction.BACK:
            await query.answer()
            await _set_markup(message, answer_keyboard(user_id))
            return
        model: str | None = None
        if action is AnswerAction.PICK:
            await ensure_loaded()
            names = picker_names(models, role, settings)
            pick = callback_data.pick
            if not 0 <= pick < len(names) or model_check(names[pick]) != callback_data.check:
                await query.answer(_("This list of models has changed. Open it again."))
                await _set_markup(message, answer_keyboard(user_id))
                return
            choice = models.check(names[pick], role)
            if not isinstance(choice, ModelChosen):
                await query.answer(_("This model is not available to you."))
                return
            model = choice.model_id
        continuing = action is AnswerAction.CONTINUE

        async def started() -> None:  # the press is acknowledged once it surely runs
            await query.answer(_("➡️ Continuing…") if continuing else _("🔄 Regenerating…"))

        with answer_opener.open(bot, message, user_record) as opened:
            press = ControlPress(
                user_record,
                caller,
                chat_id,
                message.message_id,
                opened.running.stop,
                thread_id,
                private=is_private(message.chat),
            )
            result: ControlResult
            if continuing:
                result = await answer_controls.continue_answer(press, opened.sink, started)
            else:
                result = await answer_controls.regenerate(press, opened.sink, model, started)
        if result.status is ControlStatus.DONE:
            await opened.sink.tidy()
        elif result.status is ControlStatus.EXPIRED:  # overtaken since the check above
            await _expired(query, message, bot, bot_limiter)
        elif result.status is ControlStatus.BUSY:
            # An answer is being written (a first press, a new message): it takes the
            # buttons over when it is done; if it fails, these still work.
            await query.answer(
                _("These buttons have expired: they work on the latest answer only.")
            )
        else:
            await query.answer(_("⚠️ The database is unavailable right now. Try again later."))

    return router
