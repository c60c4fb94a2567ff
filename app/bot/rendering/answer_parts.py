"""Assembling what an answer message shows around the answer text: the model's reasoning
(a quote above the answer, live while it streams or collapsed at the end) and a footer.

Everything works on :class:`RenderedPart` (text + entities in UTF-16 offsets), so pieces are
joined without any parse mode that could break, and the answer's own entities keep pointing
at the right characters.
"""

from __future__ import annotations

from aiogram.types import MessageEntity

from app.bot.rendering.markdown import RenderedPart, render_markdown_async, render_plain, utf16_len

__all__ = [
    "compose_final",
    "join_parts",
    "reasoning_block",
    "reasoning_preview",
]

#: Reasoning kept in a final message (UTF-16 units); the answer gets the rest of the part.
FINAL_REASONING_MAX = 3000
#: The tail of the reasoning a live preview shows: the latest thoughts, not the first ones.
PREVIEW_REASONING_TAIL = 700
SEPARATOR = "\n\n"


def _shifted(entities: list[MessageEntity], by: int) -> list[MessageEntity]:
    return [e.model_copy(update={"offset": e.offset + by}) for e in entities]


def join_parts(first: RenderedPart, second: RenderedPart, sep: str = SEPARATOR) -> RenderedPart:
    """``first`` + ``sep`` + ``second`` with the second part's entities moved along."""
    if not first.text:
        return second
    if not second.text:
        return first
    head = first.text + sep
    return RenderedPart(
        head + second.text, [*first.entities, *_shifted(second.entities, utf16_len(head))]
    )


def _cut_head(text: str, limit: int) -> str:
    """The start of ``text`` within ``limit`` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    out = text[: max(limit - 1, 0)]
    while out and utf16_len(out) > limit - 1:
        out = out[:-1]
    return out.rstrip() + "…"


def _cut_tail(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    out = text[-max(limit - 1, 0) :]
    while out and utf16_len(out) > limit - 1:
        out = out[1:]
    return "…" + out.lstrip()


def reasoning_block(
    reasoning: str, label: str, *, expandable: bool, limit: int = FINAL_REASONING_MAX
) -> RenderedPart:
    """``label`` and the reasoning in one quote: collapsed (expandable) in a final message,
    open in a live preview. Plain text: reasoning is shown, not rendered as Markdown."""
    body = _cut_head(reasoning.strip(), max(limit - utf16_len(label) - 1, 16))
    text = f"{label}\n{body}" if body else label
    kind = "expandable_blockquote" if expandable else "blockquote"
    return RenderedPart(text, [MessageEntity(type=kind, offset=0, length=utf16_len(text))])


def reasoning_preview(reasoning: str, label: str) -> RenderedPart:
    """The live view while the model thinks: its latest thoughts in an open quote."""
    tail = _cut_tail(reasoning.strip(), PREVIEW_REASONING_TAIL)
    return reasoning_block(tail, label, expandable=False, limit=PREVIEW_REASONING_TAIL + 64)


async def compose_final(
    answer: str,
    *,
    limit: int,
    empty_text: str,
    header: RenderedPart | None = None,
    footer: str | None = None,
) -> list[RenderedPart]:
    """The final messages: [header +] the rendered answer (split at ``limit``) [+ footer].
    The header joins the first part when both fit in one message, else goes first alone."""
    # Long answers render in a worker thread: the event loop keeps serving other chats.
    parts = await render_markdown_async(answer, limit)
    if footer and footer.strip():
        footer = footer.strip()
        if parts and utf16_len(parts[-1].text + SEPARATOR + footer) <= limit:
            # Entities of the last part keep their offsets: the footer is appended.
            parts[-1] = join_parts(parts[-1], RenderedPart(footer, []))
        else:
            parts.extend(RenderedPart(p, []) for p in render_plain(footer, limit))
    if header is not None and header.text:
        if parts and utf16_len(header.text + SEPARATOR + parts[0].text) <= limit:
            parts[0] = join_parts(header, parts[0])
        else:
            parts.insert(0, header)
    if not parts:
        parts = [RenderedPart(empty_text, [])]
    return parts
