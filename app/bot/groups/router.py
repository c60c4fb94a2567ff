"""/catchup, and "what did I miss?" asked of the bot in a group: a summary of what the
group (topic) said since the asker last wrote, charged to the asker (strangers never get
here: the access gate drops them). Thin: CatchupService builds the job, ChatService runs
it into an answer opened like any other."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from app.bot.chat.opener import AnswerOpener
from app.bot.chat.threads import (
    AddressedToBot,
    display_name,
    is_group,
    strip_mention,
    thread_of,
)
from app.bot.filters import OnLoop
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.services.chat.service import ChatService
from app.services.groups.catchup import CatchupRequest, CatchupService, asks_catchup
from app.storage import UserRecord
from llmdoor import Caller


class AsksCatchup(Filter):
    """A group message addressed to the bot that asks what the sender missed."""

    async def __call__(self, message: Message, bot_mention: str | None = None) -> bool:
        if not is_group(message.chat):
            return False
        return asks_catchup(strip_mention(message.text or "", bot_mention))


def create_groups_router() -> Router:
    router = Router(name="groups")
    router.message.middleware(release_dialog_lock)  # the answer runs long: /stop gets in

    @router.message(Command("catchup"))
    @router.message(OnLoop(F.text), AddressedToBot(), AsksCatchup())
    async def catch_up(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        catchup: CatchupService,
        answer_opener: AnswerOpener,
        chat_service: ChatService,
    ) -> None:
        if not is_group(message.chat):
            await message.reply(
                _(
                    "/catchup works in groups: send it there to hear what the group said "
                    "since your last message."
                )
            )
            return
        if not catchup.enabled:
            await message.reply(
                _("Group history is off on this bot: there is nothing to catch up on.")
            )
            return
        with answer_opener.open(bot, message, user_record, buttons=False) as opened:
            job = await catchup.job(
                CatchupRequest(
                    user=user_record,
                    caller=caller,
                    who=display_name(message.from_user) or _("the member"),
                    chat_id=message.chat.id,
                    thread_id=thread_of(message),
                    message_id=message.message_id,
                    model=chat_service.model_for(user_record),
                    stop=opened.running.stop,
                )
            )
            if job is None:
                await message.reply(_("Nothing new here since your last message."))
                return
            await chat_service.run(job, opened.sink)

    return router
