"""The storage contract for turns in pieces: the messages a person meant as one question
(a paste Telegram split, an album, forwards and the comment on them), collected per
(user, chat, topic) until a short quiet window passes, then claimed by exactly one
handler, on any bot instance.

Every ``add`` bumps the collection's ``version``; the handler of a piece waits the window
and then claims the collection only if its version is still the one its piece made. So
the handler of the last piece answers the whole turn, whichever instance took it, and an
earlier one finds a newer version and leaves. A collection whose last piece is older than
``stale_after`` (its instance died before answering) is dropped by the next ``add``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

PieceKind = Literal["text", "photo", "document"]


class TurnPiece(BaseModel):
    message_id: int
    kind: PieceKind = "text"
    text: str = ""  # the text, or the caption, without the bot's @mention
    forwarded_from: str | None = None  # a forward: who wrote it (None: unknown or not one)
    forwarded: bool = False
    file_id: str | None = None  # a photo (largest size) or a document
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    # The Telegram message as the Bot API sent it: the reply it carries and where to
    # answer are read from it when the turn is answered, on whichever instance.
    message: dict[str, Any] = Field(default_factory=dict)


class PieceTicket(BaseModel):
    """What an ``add`` made: the collection and its version after this piece."""

    collection: str
    version: int
    stored: int  # pieces kept
    seen: int  # pieces that arrived, also those beyond the cap


class CollectedTurn(BaseModel):
    pieces: list[TurnPiece]  # in message order
    seen: int  # more than ``len(pieces)``: the rest went over the cap


@runtime_checkable
class PieceRepository(Protocol):
    async def add(
        self,
        key: str,
        piece: TurnPiece,
        *,
        max_pieces: int,
        now: datetime,
        stale_after: float,
    ) -> PieceTicket | None:
        """Add ``piece`` to the key's open collection (opened if there is none). Pieces
        beyond ``max_pieces`` are counted, not kept. None: the store is full (too many
        open collections), so the piece is not collected."""
        ...

    async def is_open(self, key: str, *, since: datetime) -> bool:
        """A collection of the key took a piece at or after ``since``."""
        ...

    async def claim(self, key: str, collection: str, version: int) -> CollectedTurn | None:
        """Take the collection away, atomically, if it is still at ``version`` (no piece
        came after the caller's); None otherwise."""
        ...


def ordered(pieces: list[TurnPiece]) -> list[TurnPiece]:
    """Pieces in the order the person sent them: handlers may store them out of order."""
    return sorted(pieces, key=lambda p: p.message_id)
