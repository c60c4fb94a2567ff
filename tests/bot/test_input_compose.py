"""One question from a turn's pieces (app.services.input.compose) and which messages are
pieces (app.bot.input.pieces)."""

from __future__ import annotations

from aiogram.types import Chat, Message, MessageOriginHiddenUser, PhotoSize, User

from app.bot.input.pieces import piece_of, starts_turn
from app.services.input.compose import compose
from app.storage.pieces import CollectedTurn, TurnPiece


def message(mid: int, text: str | None = None, **extra: object) -> Message:
    return Message(
        message_id=mid,
        date=0,
        chat=Chat(id=1, type="private"),
        from_user=User(id=1, is_bot=False, first_name="A"),
        text=text,
        **extra,
    )


def test_what_opens_a_turn() -> None:
    assert not starts_turn(message(1, "short question"))
    assert starts_turn(message(1, "x" * 4096))
    assert starts_turn(message(1, "", media_group_id="g"))
    origin = MessageOriginHiddenUser(date=0, sender_user_name="Alice")
    assert starts_turn(message(1, "hi", forward_origin=origin))


def test_pieces_keep_what_the_answer_needs() -> None:
    photo = message(
        3,
        None,
        photo=[
            PhotoSize(file_id="small", file_unique_id="s", width=90, height=90),
            PhotoSize(file_id="big", file_unique_id="b", width=1280, height=960),
        ],
        caption="@bot what is it",
        media_group_id="g",
    )
    piece = piece_of(photo, "@bot")
    assert piece is not None
    assert (piece.kind, piece.file_id, piece.text) == ("photo", "big", "what is it")
    restored = Message.model_validate(piece.message)
    assert restored.message_id == 3 and restored.media_group_id == "g"
    assert piece_of(message(4, "/help")) is None


def test_a_paste_is_joined_and_forwards_are_quoted_before_the_comment() -> None:
    pieces = [
        TurnPiece(message_id=2, text="part two"),
        TurnPiece(message_id=1, text="part one"),
    ]
    turn = compose(
        CollectedTurn(pieces=sorted(pieces, key=lambda p: p.message_id), seen=2), max_chars=100
    )
    assert turn.text == "part one\npart two"
    assert turn.anchor.message_id == 1 and not turn.cut

    forwarded = [
        TurnPiece(message_id=5, text="line 1\nline 2", forwarded=True, forwarded_from="Bob"),
        TurnPiece(message_id=6, text="a note", forwarded=True),
        TurnPiece(message_id=7, text="thoughts?"),
    ]
    turn = compose(CollectedTurn(pieces=forwarded, seen=3), max_chars=1000)
    assert turn.text == (
        "[A forwarded message from Bob:]\n> line 1\n> line 2\n\n"
        "[A forwarded message:]\n> a note\n\nthoughts?"
    )
    assert turn.anchor.message_id == 7  # the answer replies to the person's own words
    assert turn.own_words and turn.message_ids == [5, 6, 7]


def test_caps_are_reported() -> None:
    pieces = [TurnPiece(message_id=i, text="x" * 10) for i in range(3)]
    turn = compose(CollectedTurn(pieces=pieces, seen=5), max_chars=25)
    assert len(turn.text) == 25 and turn.total_chars == 32
    assert turn.dropped_pieces == 2 and turn.cut


def test_the_piece_that_replies_is_the_anchor() -> None:
    pieces = [
        TurnPiece(message_id=1, text="x"),
        TurnPiece(message_id=2, text="y", message={"reply_to_message": {"message_id": 0}}),
    ]
    assert compose(CollectedTurn(pieces=pieces, seen=2), max_chars=10).anchor.message_id == 2
