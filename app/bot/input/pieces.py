"""Which messages are pieces of a longer turn, and what of them is kept: read from the
Telegram message, for app.services.input."""

from __future__ import annotations

from aiogram.types import Message

from app.bot.chat.threads import forwarded_from, strip_mention, thread_of
from app.services.input.collector import PieceKey
from app.services.input.compose import PASTE_PART_CHARS
from app.storage.pieces import TurnPiece


def piece_key(message: Message, user_id: int) -> PieceKey:
    return PieceKey(user_id, message.chat.id, thread_of(message))


def starts_turn(message: Message) -> bool:
    """A message that is likely followed by more of the same turn: an album item, a
    forward, or a text as long as the parts Telegram splits a paste into."""
    return (
        message.media_group_id is not None
        or message.forward_origin is not None
        or len(message.text or "") >= PASTE_PART_CHARS
    )


def _without(text: str, mention: str | None) -> str:
    return strip_mention(text, mention)  # a trigger word is taken off the start only


def piece_of(message: Message, mention: str | None = None) -> TurnPiece | None:
    """The message as a piece of a turn; None for what is never merged (commands, voice,
    stickers, ...)."""
    piece = TurnPiece(
        message_id=message.message_id,
        text=_without(message.text or message.caption or "", mention),
        forwarded=message.forward_origin is not None,
        forwarded_from=forwarded_from(message),
    )
    if message.text is not None:
        if message.text.startswith("/"):
            return None
    elif message.photo:
        photo = message.photo[-1]
        piece.kind, piece.file_id, piece.mime_type = "photo", photo.file_id, "image/jpeg"
        piece.file_size = photo.file_size
    elif message.document is not None:
        doc = message.document
        piece.kind, piece.file_id, piece.file_size = "document", doc.file_id, doc.file_size
        piece.file_name, piece.mime_type = doc.file_name, doc.mime_type
    else:
        return None
    piece.message = message.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return piece
