"""Turns in pieces: a message that opens one (an album item, a forward, a paste part) or
joins one being collected is stored as a piece; the handler of the last piece answers
them all once the quiet window passed (app.services.input.collector). Every other message
passes through to the chat and media routers at once.

Included before them, after the commands and menus."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import Message

from app.bot.chat.opener import AnswerOpener
from app.bot.chat.threads import AddressedToBot, answer_thread
from app.bot.filters import OnLoop
from app.bot.input.pieces import piece_key, piece_of, starts_turn
from app.bot.input.turns import answer_turn
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.config import Settings
from app.services.chat.place import leave_intake
from app.services.chat.service import ChatService
from app.services.input.collector import PieceKey, TurnCollector
from app.services.media.service import MediaService
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from app.storage.pieces import CollectedTurn, TurnPiece
from llmdoor import Caller

log = logging.getLogger(__name__)

_ADDRESSED = AddressedToBot()


class PartOfTurn(Filter):
    """Passes a message that is a piece of a longer turn, with ``piece`` and ``piece_key``
    for the handler. Opening a turn needs a message addressed to the bot; joining one
    needs only the same person in the same chat and topic."""

    async def __call__(
        self,
        message: Message,
        bot: Bot,
        turn_collector: TurnCollector,
        media: MediaService,
        settings: Settings,
    ) -> bool | dict[str, object]:
        if not turn_collector.enabled or message.from_user is None:
            return False
        if not (message.text or message.photo or message.document):
            return False  # voice, stickers, ...: never merged
        if len(message.text or "") > settings.bot.max_input_chars:
            return False  # one message over the limit is refused as such (chat router)
        key = piece_key(message, message.from_user.id)
        addressed = await _ADDRESSED(message, bot, settings)
        if not ((addressed and starts_turn(message)) or await turn_collector.is_open(key)):
            return False
        mention = addressed.get("bot_mention") if isinstance(addressed, dict) else None
        piece = piece_of(message, mention)
        if piece is None:
            return False
        if piece.kind == "document" and media.document_too_large(piece.file_size):
            return False  # the media router refuses it with the reason
        return {"piece": piece, "piece_key": key}


async def _typing(bot: Bot, message: Message) -> None:
    try:
        await bot.send_chat_action(
            message.chat.id, ChatAction.TYPING, message_thread_id=answer_thread(message)
        )
    except TelegramAPIError as exc:  # only a courtesy while the pieces come in
        log.debug("input: typing not shown: %s", exc)


def create_input_router() -> Router:
    router = Router(name="input")
    router.message.middleware(release_dialog_lock)  # the answer runs long: /stop gets in

    @router.message(OnLoop(F.text | F.photo | F.document), PartOfTurn())
    async def collect(
        message: Message,
        bot: Bot,
        piece: TurnPiece,
        piece_key: PieceKey,
        turn_collector: TurnCollector,
        user_record: UserRecord,
        caller: Caller,
        settings: Settings,
        answer_opener: AnswerOpener,
        media: MediaService,
        chat_service: ChatService,
    ) -> None:
        alone = CollectedTurn(pieces=[piece], seen=1)
        ticket = await turn_collector.add(piece_key, piece)
        if ticket is None:
            collected: CollectedTurn | None = alone  # not collected: answered on its own
        else:
            if ticket.seen == 1:
                await _typing(bot, message)
            leave_intake()  # waiting is no work: the next update may take its first steps
            try:
                collected = await turn_collector.settle(piece_key, ticket)
            except StorageUnavailable:
                log.warning(
                    "input: turn of %s not claimed, answering its last piece", caller.user_id
                )
                collected = alone
        if collected is None:
            return  # a later piece's handler answers the turn
        await answer_turn(
            bot,
            collected,
            user=user_record,
            caller=caller,
            max_chars=settings.bot.max_input_chars,
            opener=answer_opener,
            media=media,
            chat=chat_service,
        )

    return router
