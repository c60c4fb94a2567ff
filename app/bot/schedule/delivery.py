"""Sending what the scheduler runs: a reminder's text to the chat (and forum topic) it was
set in. A user who blocked the bot has their tasks paused."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.utils.i18n import I18n

from app.bot.schedule import texts
from app.services.schedule.runner import RunOutcome
from app.storage.tasks import ScheduledTask

log = logging.getLogger(__name__)


def forbidden(task: ScheduledTask) -> RunOutcome:
    """What 403 Forbidden means for the task: in the user's private chat (its id is
    theirs) they blocked the bot, and all their tasks pause; in a group the bot was
    removed, and only this task pauses (the user's private ones still reach them)."""
    return RunOutcome.BLOCKED if task.chat_id == task.user_id else RunOutcome.CHAT_GONE


class ReminderSender:
    def __init__(self, bot: Bot, i18n: I18n) -> None:
        self._bot = bot
        self._i18n = i18n

    async def send(self, task: ScheduledTask, late: bool) -> RunOutcome:
        with self._i18n.context(), self._i18n.use_locale(task.locale):
            text = texts.missed(task.text) if late else texts.reminder(task.text)
        return await self._deliver(task, text)

    async def tell_missed(self, task: ScheduledTask) -> None:
        with self._i18n.context(), self._i18n.use_locale(task.locale):
            text = texts.missed(task.text)
        await self._deliver(task, text)

    async def _deliver(self, task: ScheduledTask, text: str) -> RunOutcome:
        try:
            await self._bot.send_message(
                task.chat_id, text, message_thread_id=task.thread_id or None
            )
        except TelegramForbiddenError:
            log.info("reminders: task %s: Telegram refused the chat; it pauses", task.id)
            return forbidden(task)
        except TelegramAPIError as exc:
            log.warning("reminders: task %s not delivered: %s", task.id, exc)
            return RunOutcome.FAILED
        return RunOutcome.DONE
