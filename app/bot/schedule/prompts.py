"""Running what the scheduler hands over: a reminder's text is sent as is
(ReminderSender); a scheduled prompt is answered by the user's model, with their persona
and tools, in a conversation of its own, and streamed to the chat like any answer
(AnswerOpener and ChatService, the path of private chat).

At each run the user's access is checked again (revoked: nothing is sent, nothing is
spent, their tasks pause), and their budget: a run it refuses is skipped, and the user is
told once, not at every skipped run, until a run goes through again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.utils.i18n import I18n

from app.access import AccessAuthority
from app.bot.chat.opener import AnswerOpener, ScheduledRun
from app.bot.chat.sink import TelegramAnswer
from app.bot.schedule import texts
from app.bot.schedule.delivery import ReminderSender, forbidden
from app.services.chat.job import ChatFailure, ChatOutcome
from app.services.conversations.service import ConversationKey, ConversationService
from app.services.schedule.runner import RunOutcome
from app.services.spend import SpendService
from app.storage import Storage, UserRecord
from app.storage.tasks import ScheduledTask
from llmdoor import BudgetExceeded, Caller, Role

log = logging.getLogger(__name__)

#: How much of the prompt titles its conversation.
TITLE_CHARS = 60


class ScheduledAnswer(TelegramAnswer):
    """A scheduled prompt's answer: no answer buttons (they act on the active
    conversation), and a budget refusal is not shown here (the runner tells the user once)."""

    buttons = False
    budget_refused = False

    async def fail(self, failure: ChatFailure) -> None:
        if isinstance(failure.error, BudgetExceeded):
            self.budget_refused = True
            return
        await super().fail(failure)


class TaskRunner:
    """The scheduler's ``run`` and ``tell_missed``, for both kinds of task."""

    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        storage: Storage,
        authority: AccessAuthority,
        opener: AnswerOpener,
        conversations: ConversationService,
    ) -> None:
        self._bot = bot
        self._i18n = i18n
        self._storage = storage
        self._authority = authority
        self._opener = opener
        self._conversations = conversations
        self._spend = SpendService(storage)
        self._reminders = ReminderSender(bot, i18n)

    @contextmanager
    def _speaking(self, task: ScheduledTask) -> Iterator[None]:
        """Outside an update: the task's language for everything said in the run."""
        with self._i18n.context(), self._i18n.use_locale(task.locale):
            yield

    async def run(self, task: ScheduledTask, late: bool) -> RunOutcome:
        if task.kind == "reminder":
            if await self._access(task) is None:
                return RunOutcome.BLOCKED  # a revoked user's reminders post nothing either
            return await self._reminders.send(task, late)
        with self._speaking(task):
            return await self._prompt(task)

    async def tell_missed(self, task: ScheduledTask) -> None:
        if await self._access(task) is None:
            return  # a revoked user is told nothing either
        if task.kind == "reminder":
            await self._reminders.tell_missed(task)
            return
        with self._speaking(task):
            await self._say(task, texts.prompt_missed(task.text))

    async def _access(self, task: ScheduledTask) -> tuple[UserRecord, Caller] | None:
        """The task's user and their Caller now; None when they have no access any more."""
        user = await self._storage.users.get(task.user_id)
        caller = await self._authority.caller_for(user) if user is not None else None
        if user is None or caller is None or caller.role is Role.STRANGER:
            log.info("schedule: user %s has no access now; their tasks pause", task.user_id)
            return None
        return user, caller

    async def _prompt(self, task: ScheduledTask) -> RunOutcome:
        access = await self._access(task)
        if access is None:
            return RunOutcome.BLOCKED  # nothing sent, nothing spent
        user, caller = access
        if not await self._budget_left(caller):
            return await self._skipped(task)
        conversation_id = await self._conversation(task, user)
        run = ScheduledRun(task.chat_id, task.thread_id, task.text, conversation_id, task.locale)
        try:
            outcome, sink = await self._opener.answer_scheduled(
                self._bot, user, caller, run, kind=ScheduledAnswer
            )
        except TelegramForbiddenError:
            log.info("schedule: task %s: Telegram refused the chat; it pauses", task.id)
            return forbidden(task)
        except TelegramAPIError as exc:
            log.warning("schedule: task %s not delivered: %s", task.id, exc)
            return RunOutcome.FAILED
        if isinstance(sink, ScheduledAnswer) and sink.budget_refused:
            return await self._skipped(task)
        if outcome is ChatOutcome.FAILED:
            return RunOutcome.FAILED
        if task.budget_told:
            await self._storage.tasks.note(task.id, budget_told=False)
        return RunOutcome.DONE

    async def _budget_left(self, caller: Caller) -> bool:
        left = (await self._spend.summary(caller)).left_today_usd
        return left is None or left > 0

    async def _skipped(self, task: ScheduledTask) -> RunOutcome:
        """The budget refused the run: skipped, and the user told the first time."""
        log.info("schedule: task %s skipped, the budget of user %s is spent", task.id, task.user_id)
        if not task.budget_told:
            outcome = await self._say(task, texts.budget_skipped(task.text))
            if outcome is not RunOutcome.FAILED:
                await self._storage.tasks.note(task.id, budget_told=True)
            if outcome in (RunOutcome.BLOCKED, RunOutcome.CHAT_GONE):
                return outcome
        return RunOutcome.DONE

    async def _conversation(self, task: ScheduledTask, user: UserRecord) -> str:
        """The task's own conversation (made at its first run, or again if the user deleted
        it); never the user's active one."""
        known = task.conversation_id
        if known is not None and await self._storage.conversations.get(known) is not None:
            return known
        title = "🔁 " + task.text[:TITLE_CHARS]
        key = ConversationKey(task.user_id, task.chat_id, task.thread_id)
        conversation = await self._conversations.open_aside(key, user.model, title)
        await self._storage.tasks.note(task.id, conversation_id=conversation.id)
        return conversation.id

    async def _say(self, task: ScheduledTask, text: str) -> RunOutcome:
        try:
            await self._bot.send_message(
                task.chat_id, text, message_thread_id=task.thread_id or None
            )
        except TelegramForbiddenError:
            return forbidden(task)
        except TelegramAPIError as exc:
            log.warning("schedule: note for task %s not delivered: %s", task.id, exc)
            return RunOutcome.FAILED
        return RunOutcome.DONE
