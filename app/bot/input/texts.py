"""What the bot says about turns in pieces and edited questions, in the user's language."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from app.services.input.compose import MergedTurn


def kept_of_turn(turn: MergedTurn) -> str:
    lines = []
    if turn.dropped_pieces:
        seen = len(turn.message_ids) + turn.dropped_pieces
        lines.append(
            _("✂️ Messages sent at once: {seen}; I read the first {kept}.").format(
                seen=seen, kept=len(turn.message_ids)
            )
        )
    if turn.kept_chars < turn.total_chars:
        lines.append(
            _(
                "✂️ Together your messages are {total} characters long; I read the first "
                "{kept} (the limit)."
            ).format(total=turn.total_chars, kept=turn.kept_chars)
        )
    return "\n".join(lines)


def what_is_in_images(count: int) -> str:
    if count == 1:
        return _("What is in this image?")
    return _("What is in these images?")


def edit_during_answer() -> str:
    return _(
        "✏️ I'm still writing the answer to your message. Edit it again once I'm done, "
        "or send the new text as a new message."
    )


def edit_of_older_message() -> str:
    return _(
        "✏️ I only answer an edited message again when it is your latest question in "
        "this conversation. Send the new text as a new message."
    )


def edit_of_merged_question() -> str:
    return _(
        "✏️ That question came in several messages, so I can't ask it again from one "
        "edit. Send the whole question again as a new message."
    )


def edit_unsupported() -> str:
    return _(
        "✏️ I can ask again only when the text of a question is edited. Send the new "
        "version as a new message."
    )
