"""Answering a turn that came in pieces: its photos downloaded, its documents read, its
words composed into one question, answered like any message (app.bot.chat.opener)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import Message

from app.bot.chat.opener import AnswerOpener
from app.bot.input import texts
from app.bot.media import texts as media_texts
from app.bot.media.router import download
from app.services.chat.service import ChatService
from app.services.input.compose import MergedTurn, compose
from app.services.media.service import MediaService
from app.storage import UserRecord
from app.storage.pieces import CollectedTurn, TurnPiece
from llmdoor import Attachment, Caller, DocumentText, LLMError

log = logging.getLogger(__name__)


def message_of(piece: TurnPiece, bot: Bot) -> Message:
    """The piece's Telegram message again, bound to ``bot`` (it may have been taken by
    another instance)."""
    return Message.model_validate(piece.message, context={"bot": bot})


async def _photos(bot: Bot, anchor: Message, turn: MergedTurn) -> list[Attachment]:
    photos = []
    for piece in turn.photos:
        assert piece.file_id is not None
        data = await download(bot, piece.file_id)
        if data is None:
            await anchor.reply(media_texts.download_failed())
            continue
        photos.append(Attachment(data=data, mime_type=piece.mime_type or "image/jpeg"))
    return photos


async def _documents(
    bot: Bot, anchor: Message, turn: MergedTurn, media: MediaService, caller: Caller
) -> list[DocumentText]:
    read = []
    for piece in turn.documents:
        assert piece.file_id is not None
        data = await download(bot, piece.file_id)
        if data is None:
            await anchor.reply(media_texts.download_failed())
            continue
        try:
            read.append(await media.read(caller, data, piece.mime_type, piece.file_name))
        except LLMError as exc:
            await anchor.reply(media_texts.document_error(exc))
    return read


async def answer_turn(
    bot: Bot,
    collected: CollectedTurn,
    *,
    user: UserRecord,
    caller: Caller,
    max_chars: int,
    opener: AnswerOpener,
    media: MediaService,
    chat: ChatService,
) -> None:
    turn = compose(collected, max_chars=max_chars)
    anchor = message_of(turn.anchor, bot)
    if turn.cut:
        await anchor.reply(texts.kept_of_turn(turn))
    photos = await _photos(bot, anchor, turn)
    question = turn.text
    if turn.documents:
        documents = await _documents(bot, anchor, turn, media, caller)
        if not documents and not question and not photos:
            return  # every file was refused, with a reason each
        if documents:
            prompt = await media.adocuments_prompt(
                documents,
                question,
                chat.model_for(user),
                summarize=media_texts.summarize_request(),
            )
            if prompt.cut:
                await anchor.reply(media_texts.document_cut(None, None))
            question = prompt.text
    if not question and photos:
        question = texts.what_is_in_images(len(photos))
    if not question:
        return  # nothing to ask: the pieces were files that could not be read
    await opener.answer(bot, anchor, user, caller, question, photos, message_ids=turn.message_ids)
