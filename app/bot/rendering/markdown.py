"""Model Markdown -> Telegram text + entities, split into messages of at most 4096 UTF-16 units.

Library: ``telegramify-markdown`` (pyromark/CommonMark parser -> plain text + MessageEntity list).
Entities need no parse mode, so nothing Telegram-side can fail to parse; it turns tables into
``pre`` blocks, LaTeX into Unicode, closes an open streaming ``` fence, counts UTF-16 correctly.
Rejected: ``chatgpt-md-converter`` left tables as raw ``| a | b |`` pipes and LaTeX as raw
``\\frac``; piping its HTML through ``sulguk`` collapsed every newline (lists, tables and
headings ran into one line) and ``&amp;`` reached the user literally (double-escaped).
One gap is patched here: telegramify silently *drops* raw HTML (``<script>..</script>``, ``Vec<T>``
in prose), so the parser's own HTML ranges are backslash-escaped first (see ``_escape_raw_html``).
Splitting is ours (``app.bot.rendering.split``): the library only splits at newlines or hard
cuts and may cut inside entities. The library's cost is not linear on every input
(``"$" * 64_000`` took 6 s, quadratic), so long answers are converted in bounded pieces
(``app.bot.rendering.pieces``), and the bot renders long answers off the event loop
(``render_markdown_async``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pyromark
import telegramify_markdown
from aiogram.types import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS
from telegramify_markdown.entity import MessageEntity as _Entity

from app.bot.rendering import pieces as render_pieces
from app.bot.rendering.converters import converted
from app.bot.rendering.split import U16, split

__all__ = [
    "TELEGRAM_TEXT_LIMIT",
    "RenderedPart",
    "render_markdown",
    "render_markdown_async",
    "render_plain",
    "render_preview",
    "render_preview_async",
    "utf16_len",
]

logger = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096

# An isolated config: nobody else's mutation of the library's global config can change ours.
_CONFIG = telegramify_markdown.RenderConfig.isolated()


@dataclass(frozen=True)
class RenderedPart:
    """One Telegram message: plain text plus entities (offsets/lengths in UTF-16 code units)."""

    text: str
    entities: list[MessageEntity]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts limits and entity offsets in."""
    return telegramify_markdown.utf16_len(text)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def render_markdown(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[RenderedPart]:
    """Convert model Markdown into Telegram parts, each at most ``limit`` UTF-16 units.

    Never raises: on any converter failure the source is split as plain text. Returns an empty
    list only for whitespace-only input (Telegram rejects empty messages; the caller decides
    what to show instead).
    """
    limit = max(int(limit), 1)

    def plain() -> list[RenderedPart]:
        return [RenderedPart(p, []) for p in render_plain(md, limit)]

    def convert() -> list[RenderedPart]:
        text, entities = _convert(md)
        if not text.strip() and md.strip():
            # The converter produced nothing visible from visible input; never drop it.
            return plain()
        return [RenderedPart(t, ents) for t, ents in split(text, entities, limit)]

    return converted(convert, plain=plain, what="Markdown rendering")


# Below this many characters rendering takes well under a millisecond: a thread hop would
# cost more than it saves.
INLINE_RENDER_CHARS = 2000


async def render_markdown_async(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[RenderedPart]:
    """:func:`render_markdown` in a worker thread for long texts, so other chats are served
    meanwhile (the converter is pure Python: the GIL is released every few milliseconds)."""
    if len(md) <= INLINE_RENDER_CHARS:
        return render_markdown(md, limit)
    return await asyncio.to_thread(render_markdown, md, limit)


async def render_preview_async(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> RenderedPart:
    """:func:`render_preview` in a worker thread for long texts."""
    if len(md) <= INLINE_RENDER_CHARS:
        return render_preview(md, limit)
    return await asyncio.to_thread(render_preview, md, limit)


def render_plain(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split plain text at the same safe boundaries as :func:`render_markdown`."""
    limit = max(int(limit), 1)
    return [t for t, _ in split(text, [], limit)]


def preview_tail(md: str, chars: int) -> str:
    """The end of an in-progress answer, about ``chars`` long, in whole pieces (so it
    renders as it does in the full text). Only the tail is converted for a preview: its
    cost must not grow with the answer, as it is rendered again at every update."""
    cut = render_pieces.pieces(md)
    tail: list[str] = []
    size = 0
    while cut and size < chars:
        tail.insert(0, cut.pop().source)
        size += len(tail[0])
    return "".join(tail)


def render_preview(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> RenderedPart:
    """Render an in-progress (possibly unfinished) answer for a live preview.

    If the answer already needs several messages, the *last* part is returned: that is the text
    the user is reading as it is being written, and the earlier parts are shown in full when
    the answer is finished.
    """
    parts = render_markdown(preview_tail(md, 2 * limit), limit)
    if parts:
        return parts[-1]
    return RenderedPart("", [])


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


def _convert(md: str) -> tuple[str, list[_Entity]]:
    """Convert ``md`` piece by piece and join the results, shifting entity offsets."""
    pieces = render_pieces.pieces(md)
    if len(pieces) == 1:
        return _convert_piece(md)
    out: list[str] = []
    entities: list[_Entity] = []
    offset = 0  # UTF-16 units written so far
    continued: _Entity | None = None  # a code block the previous piece cut
    for piece in pieces:
        text, piece_entities = _convert_piece(piece.source)
        text = text.rstrip("\n")
        if not text.strip() and piece.source.strip():
            text, piece_entities = piece.source.strip("\n"), []  # never drop visible source
        size = utf16_len(text)
        for e in piece_entities:
            e.length = min(e.length, size - e.offset)  # clip to the stripped newlines
            if e.length <= 0:
                continue
            if continued is not None and e.type == "pre" and e.offset == 0:
                # The second half of a cut code block: one block again, as in the source.
                continued.length = offset + e.length - continued.offset
                continue
            e.offset += offset
            entities.append(e)
        # Keep the source's break between pieces: a blank line, a line break, or none (a
        # hard cut inside a very long line).
        trailing = len(piece.source) - len(piece.source.rstrip("\n"))
        separator = "\n" * min(trailing, 2)
        out.append(text + separator)
        last = entities[-1] if entities else None
        ends_in_code = last is not None and last.type == "pre"
        continued = last if piece.cuts_code and ends_in_code else None
        offset += size + len(separator)
    return "".join(out), entities


def _convert_piece(md: str) -> tuple[str, list[_Entity]]:
    source = _escape_raw_html(md)
    text, entities = telegramify_markdown.convert(source, config=_CONFIG)
    return _detach_pre_blocks(text, [e for e in entities if e.length > 0])


def _detach_pre_blocks(text: str, entities: list[_Entity]) -> tuple[str, list[_Entity]]:
    """Put every code block on its own line.

    telegramify-markdown 1.4.1 glues a fenced block in the first item of a leading tight list
    to the item text ("1. Installpip install x"); this works on its output, not on Markdown.
    """
    glued = sorted({e.offset for e in entities if e.type == "pre" and e.offset > 0}, reverse=True)
    if not glued:
        return text, entities
    u16 = U16(text)
    for offset in glued:
        i = u16.to_py(offset)
        if text[i - 1] == "\n":
            continue
        text = text[:i] + "\n" + text[i:]
        for e in entities:
            if e.offset >= offset:
                e.offset += 1
            elif e.offset + e.length > offset:
                e.length += 1  # an enclosing entity (list quote) grows by the newline
    return text, entities


# Raw HTML is dropped by the converter, but in chat answers `<...>` is almost always meant
# literally (`Vec<T>`, `a <b> c`, an HTML example outside backticks). We ask the same parser
# where it sees HTML and backslash-escape those `<`, then parse again: an escaped HTML block
# can turn into a paragraph with inline HTML, so repeat until the parser sees no HTML.
_MAX_HTML_PASSES = 8


def _escape_raw_html(md: str) -> str:
    if "<" not in md:
        return md
    data = md.encode("utf-8")
    for _ in range(_MAX_HTML_PASSES):
        positions: list[int] = []
        for payload, rng in pyromark.events_with_range(
            data.decode("utf-8"), options=STANDARD_OPTIONS
        ):
            if isinstance(payload, dict) and ("InlineHtml" in payload or "Html" in payload):
                start, end = rng["start"], rng["end"]
                positions.extend(start + i for i, b in enumerate(data[start:end]) if b == 0x3C)
        if not positions:
            break
        out = bytearray()
        cursor = 0
        for pos in sorted(set(positions)):
            out += data[cursor:pos] + b"\\"
            cursor = pos
        out += data[cursor:]
        data = bytes(out)
    return data.decode("utf-8")
