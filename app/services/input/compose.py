"""One question from the pieces of a turn: a split paste joined again, forwards quoted as
what someone else wrote, the person's own words (an album's caption, the comment on a
forward) as the question. Capped in characters; the caller tells the user what was kept."""

from __future__ import annotations

from dataclasses import dataclass

from app.storage.pieces import CollectedTurn, TurnPiece

# A message this long may be one part of a longer text the client split: Telegram's limit
# is 4 096 characters and clients cut at a space or line break before it.
PASTE_PART_CHARS = 3_500


@dataclass(frozen=True)
class MergedTurn:
    text: str  # what the model is asked ("" when no piece carries words)
    photos: list[TurnPiece]
    documents: list[TurnPiece]
    anchor: TurnPiece  # the answer replies to it and takes its reply context
    message_ids: list[int]
    own_words: bool  # the person wrote something themselves (a caption, a comment)
    dropped_pieces: int  # arrived beyond the piece cap
    total_chars: int  # before the character cap
    kept_chars: int

    @property
    def cut(self) -> bool:
        return self.dropped_pieces > 0 or self.kept_chars < self.total_chars


def _forward(piece: TurnPiece) -> str:
    """A forwarded text, quoted and attributed like a reply (app.services.chat.context):
    the model reads it as what someone else wrote, not as the user's words."""
    who = f"A forwarded message from {piece.forwarded_from}" if piece.forwarded_from else None
    lines = "\n".join(f"> {line}" for line in piece.text.splitlines())
    return f"[{who or 'A forwarded message'}:]\n{lines}"


def _blocks(pieces: list[TurnPiece]) -> list[str]:
    """Consecutive own texts form one block (a split paste); each forward is its own."""
    blocks: list[str] = []
    own: list[str] = []
    for piece in pieces:
        if not piece.text:
            continue
        if piece.forwarded:
            if own:
                blocks.append("\n".join(own))
                own = []
            blocks.append(_forward(piece))
        else:
            own.append(piece.text)
    if own:
        blocks.append("\n".join(own))
    return blocks


def compose(turn: CollectedTurn, *, max_chars: int) -> MergedTurn:
    pieces = turn.pieces
    text = "\n\n".join(_blocks(pieces))
    kept = text[:max_chars]
    own = [p for p in pieces if p.text and not p.forwarded]
    # The question is the person's own words; else the first piece (a paste, an album).
    anchor = next((p for p in pieces if p.message.get("reply_to_message")), None)
    anchor = anchor or (own[-1] if any(p.forwarded for p in pieces) and own else pieces[0])
    return MergedTurn(
        text=kept,
        photos=[p for p in pieces if p.kind == "photo" and p.file_id],
        documents=[p for p in pieces if p.kind == "document" and p.file_id],
        anchor=anchor,
        message_ids=[p.message_id for p in pieces],
        own_words=bool(own),
        dropped_pieces=max(0, turn.seen - len(pieces)),
        total_chars=len(text),
        kept_chars=len(kept),
    )
