"""What goes into the prompt around the user's own words: the message they replied to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.chat.job import ReplyContext

#: Enough of a quoted message to know what is meant; a whole long answer would crowd out
#: the conversation's history.
MAX_QUOTE_CHARS = 3000


def with_reply(text: str, reply: ReplyContext | None) -> str:
    """``text`` with the replied-to message quoted above it (the model reads who wrote it)."""
    if reply is None or not reply.text.strip():
        return text
    quoted = reply.text.strip()
    if len(quoted) > MAX_QUOTE_CHARS:
        quoted = quoted[:MAX_QUOTE_CHARS] + " […]"
    if reply.from_bot:
        who = "your earlier answer"
    else:
        who = f"a message from {reply.author}" if reply.author else "a message"
    if reply.forwarded_from:
        who += f" (forwarded from {reply.forwarded_from})"
    lines = "\n".join(f"> {line}" for line in quoted.splitlines())
    return f"[Replying to {who}:]\n{lines}\n\n{text}"
