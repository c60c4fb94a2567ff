"""Model Markdown -> Telegram text + entities, split into messages of at most 4096 UTF-16 units.

Library: ``telegramify-markdown`` (pyromark/CommonMark parser -> plain text + MessageEntity list).
Entities need no parse mode, so nothing Telegram-side can fail to parse; it turns tables into
``pre`` blocks, LaTeX into Unicode, closes an open streaming ``` fence, counts UTF-16 correctly.
Rejected: ``chatgpt-md-converter`` left tables as raw ``| a | b |`` pipes and LaTeX as raw
``\\frac``; piping its HTML through ``sulguk`` collapsed every newline (lists, tables and
headings ran into one line) and ``&amp;`` reached the user literally (double-escaped).
One gap is patched here: telegramify silently *drops* raw HTML (``<script>..</script>``, ``Vec<T>``
in prose), so the parser's own HTML ranges are backslash-escaped first (see ``_escape_raw_html``).
Splitting is ours: the library only splits at newlines or hard cuts and may cut inside entities.
The library's cost is not linear on every input (``"$" * 64_000`` took 6 s, quadratic), so long
answers are converted in bounded pieces (see ``_pieces``) and the bot renders long answers off
the event loop (``render_markdown_async``).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import pyromark
import telegramify_markdown
from aiogram.types import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS
from telegramify_markdown.entity import MessageEntity as _Entity

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
    try:
        text, entities = _convert(md)
        if not text.strip() and md.strip():
            # The converter produced nothing visible from visible input; never drop it.
            return [RenderedPart(p, []) for p in render_plain(md, limit)]
        return [RenderedPart(t, ents) for t, ents in _split(text, entities, limit)]
    except Exception:  # the contract is "never raise": fall back to the raw text
        logger.exception("Markdown rendering failed; sending plain text")
        return [RenderedPart(p, []) for p in render_plain(md, limit)]


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
    try:
        return [t for t, _ in _split(text, [], limit)]
    except Exception:  # pragma: no cover - defensive; _split on plain text has no known failure
        logger.exception("Plain split failed; hard-cutting")
        return _hard_chunks(text, limit)


def render_preview(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> RenderedPart:
    """Render an in-progress (possibly unfinished) answer for a live preview.

    If the answer already needs several messages, the *last* part is returned: that is the text
    the user is reading as it is being written, and the earlier parts are shown in full when
    the answer is finished.
    """
    # Only the tail is converted: a preview's cost must not grow with the answer (it is
    # rendered again at every update). Whole pieces, so the tail renders as in the full text.
    pieces = _pieces(md)
    tail: list[str] = []
    size = 0
    while pieces and size < 2 * limit:
        tail.insert(0, pieces.pop().source)
        size += len(tail[0])
    parts = render_markdown("".join(tail), limit)
    if parts:
        return parts[-1]
    return RenderedPart("", [])


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


def _convert(md: str) -> tuple[str, list[_Entity]]:
    """Convert ``md`` piece by piece and join the results, shifting entity offsets."""
    pieces = _pieces(md)
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
    u16 = _U16(text)
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


# --------------------------------------------------------------------------------------------
# Pieces: bounded units of conversion
# --------------------------------------------------------------------------------------------

# At most this many source characters are converted in one call: the converter's worst case
# is quadratic, and at this size it stays near 0.1 s. Almost every answer is one piece.
PIECE_CHARS = 8000
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class _Piece:
    source: str
    cuts_code: bool = False  # ends inside a code block that the next piece continues


def _pieces(md: str, size: int | None = None) -> list[_Piece]:
    """``md`` cut into pieces of about ``size`` characters that convert like the whole.

    Cuts fall at blank lines outside fenced code where possible; a longer block is cut at
    line ends (a code block is closed and reopened around the cut, and the halves are
    joined again after conversion), and a longer line is cut hard. Joined, the pieces give
    ``md`` back, except for those added fence lines.
    """
    size = size or PIECE_CHARS
    if len(md) <= size:
        return [_Piece(md)]
    pieces: list[_Piece] = []
    current: _Piece | None = None
    for block in _blocks(md):
        for part in _cut_block(block, size):
            if current is not None and len(current.source) + len(part.source) > size:
                pieces.append(current)
                current = None
            current = (
                part if current is None else _Piece(current.source + part.source, part.cuts_code)
            )
    if current is not None:
        pieces.append(current)
    return pieces


def _fence_update(line: str, fence: str | None) -> str | None:
    """The open fence marker after ``line`` (None outside code)."""
    m = _FENCE.match(line)
    if m is None:
        return fence
    marker = m.group(1)
    if fence is None:
        return marker
    closes = marker[0] == fence[0] and len(marker) >= len(fence) and not line[m.end() :].strip()
    return None if closes else fence


def _blocks(md: str) -> list[str]:
    """``md`` cut after every blank line outside fenced code (joined, they give ``md``)."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in md.splitlines(keepends=True):
        current.append(line)
        fence = _fence_update(line, fence)
        if fence is None and not line.strip() and len(current) > 1:
            blocks.append("".join(current))
            current = []
    if current:
        blocks.append("".join(current))
    return blocks


def _cut_block(block: str, size: int) -> list[_Piece]:
    if len(block) <= size:
        return [_Piece(block)]
    out: list[_Piece] = []
    current = ""
    fence: str | None = None
    opening = ""  # the line that opened the current code block
    for line in block.splitlines(keepends=True):
        for i in range(0, len(line), size):
            segment = line[i : i + size]
            if current and len(current) + len(segment) > size:
                if fence is not None:
                    current += ("" if current.endswith("\n") else "\n") + fence + "\n"
                out.append(_Piece(current, cuts_code=fence is not None))
                current = opening if fence is not None else ""
            current += segment
        was_open = fence is not None
        fence = _fence_update(line, fence)
        if fence is not None and not was_open:
            opening = line if line.endswith("\n") else line + "\n"
    if current:
        out.append(_Piece(current))
    return out


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


class _U16:
    """Python index <-> UTF-16 offset mapping in O(log n) via the list of non-BMP characters."""

    _NON_BMP = re.compile("[\U00010000-\U0010ffff]")

    def __init__(self, text: str) -> None:
        self.py_pos = [m.start() for m in self._NON_BMP.finditer(text)]
        # UTF-16 offset of each non-BMP char: its Python index plus the pairs before it.
        self.u16_pos = [p + i for i, p in enumerate(self.py_pos)]

    def to_u16(self, i: int) -> int:
        return i + bisect.bisect_left(self.py_pos, i)

    def to_py(self, o: int) -> int:
        # Number of non-BMP chars that start strictly before UTF-16 offset o.
        k = bisect.bisect_left(self.u16_pos, o)
        if k and self.u16_pos[k - 1] + 1 == o:
            # o points at a low surrogate: round down to the start of that character.
            return self.u16_pos[k - 1] - (k - 1)
        return o - k


# Split candidates are whitespace runs, found backwards from the end of the window with
# str.rfind (C speed: this is on the per-message path and a 20 KB answer has thousands of
# runs, while the first candidate from the end usually wins).
_WS = re.compile(r"\s+")
_SENTENCE_END = frozenset(".!?…。！？;:")
_PARA, _LINE, _SENTENCE, _SPACE = range(4)
_SEPARATOR = {_PARA: "\n\n", _LINE: "\n", _SENTENCE: " ", _SPACE: " "}


def _candidates(text: str, kind: int, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """Whitespace runs (start, end) of class ``kind`` with lo < start <= hi, last first."""
    sep = _SEPARATOR[kind]
    end = hi + len(sep)
    while True:
        pos = text.rfind(sep, lo + 1, end)
        if pos < 0:
            return
        a = pos
        while a > lo and text[a - 1].isspace():
            a -= 1
        if a <= lo:
            return
        end = a
        if kind == _SENTENCE and text[a - 1] not in _SENTENCE_END:
            continue
        m = _WS.match(text, pos)
        yield a, (m.end() if m else pos + len(sep))


def _split(text: str, entities: list[_Entity], limit: int) -> list[tuple[str, list[MessageEntity]]]:
    """Greedy split of (text, UTF-16 entities) into parts of at most ``limit`` UTF-16 units."""
    u16 = _U16(text)
    if u16.to_u16(len(text)) <= limit:
        stripped = _strip_part(text, 0, len(text), entities, u16)
        return [stripped] if stripped[0] else []

    # Entities as Python-index spans, for "is this cut inside an entity?".
    spans = [
        (u16.to_py(e.offset), u16.to_py(e.offset + e.length)) for e in entities if e.length > 0
    ]
    parts: list[tuple[str, list[MessageEntity]]] = []
    start = 0
    n = len(text)
    while start < n:
        # Skip whitespace at the head of a part (the separator of the previous cut).
        while start < n and text[start] in "\r\n":
            start += 1
        if start >= n:
            break
        # max(...): a limit smaller than one character must still make progress.
        max_end = max(u16.to_py(u16.to_u16(start) + limit), start + 1)
        if max_end >= n:
            parts.append(_strip_part(text, start, n, entities, u16))
            break
        a_end, b_start = _choose_cut(text, start, max_end, spans)
        parts.append(_strip_part(text, start, a_end, entities, u16))
        start = b_start
    return [p for p in parts if p[0].strip()]


def _choose_cut(
    text: str, start: int, max_end: int, spans: list[tuple[int, int]]
) -> tuple[int, int]:
    """Pick (end of this part, start of the next) for a part beginning at ``start``."""
    # Only entities overlapping this window matter for "is the cut inside one?".
    local = [(s, e) for s, e in spans if s < max_end and e > start]

    def inside(cut_a: int, cut_b: int) -> bool:
        return any(s < cut_a and e > cut_b for s, e in local)

    # Never cut inside an entity if any cut outside exists; among those, prefer parts of at
    # least half the limit (in Python chars: a heuristic) so one early paragraph break does
    # not produce a tiny message.
    half = start + (max_end - start) // 2
    for allow_inside in (False, True):
        for min_end in (half, start + 1):
            for kind in (_PARA, _LINE, _SENTENCE, _SPACE):
                for g_start, g_end in _candidates(text, kind, start, max_end):
                    if g_start < min_end:
                        break
                    if allow_inside:
                        # Inside an entity (e.g. a long code block) keep the indentation of
                        # the next line: only the line break itself is the separator.
                        nl = text.find("\n", g_start, g_end)
                        if nl >= 0:
                            return nl, nl + 1
                        return g_start, min(g_start + 1, g_end)
                    if not inside(g_start, g_end):
                        return g_start, _next_start(text, g_start, g_end, local)
    # Hard cut: no whitespace at all. Avoid breaking a grapheme (ZWJ emoji, combining marks).
    cut = max_end
    while cut - 1 > start and _joins(text, cut):
        cut -= 1
    if cut <= start:
        cut = max_end
    return cut, cut


def _next_start(text: str, g_start: int, g_end: int, spans: list[tuple[int, int]]) -> int:
    """Where the next part begins after a gap: keep the indentation of its first line (code,
    nested lists) and never skip into an entity that starts inside the whitespace."""
    nl = text.rfind("\n", g_start, g_end)
    b = nl + 1 if nl >= 0 else g_end
    for s, _ in spans:
        if g_start <= s < b:
            b = s
    return b


def _joins(text: str, i: int) -> bool:
    """True if cutting before text[i] would break a visible character apart."""
    if i <= 0 or i >= len(text):
        return False
    prev, cur = text[i - 1], text[i]
    return (
        prev == "\u200d"
        or cur == "\u200d"
        or unicodedata.combining(cur) != 0
        or "\ufe00" <= cur <= "\ufe0f"
        or "\U0001f3fb" <= cur <= "\U0001f3ff"  # skin-tone modifiers
    )


def _strip_part(
    text: str, a: int, b: int, entities: list[_Entity], u16: _U16
) -> tuple[str, list[MessageEntity]]:
    """Slice [a, b), drop trailing whitespace, clip entities into the part's coordinates.

    Builds aiogram entities here, once each: pydantic construction is the costly step.
    """
    while b > a and text[b - 1] in " \t\r\n":
        b -= 1
    part = text[a:b]
    ua, ub = u16.to_u16(a), u16.to_u16(b)
    clipped: list[MessageEntity] = []
    for e in entities:
        s, t = max(e.offset, ua), min(e.offset + e.length, ub)
        if t > s:
            fields = e.to_dict()
            fields.pop("user", None)  # text_mention only; Markdown never produces it
            fields.update(offset=s - ua, length=t - s)
            clipped.append(MessageEntity(**fields))
    return part, clipped


def _hard_chunks(text: str, limit: int) -> list[str]:
    u16 = _U16(text)
    out: list[str] = []
    start = 0
    while start < len(text):
        end = max(u16.to_py(u16.to_u16(start) + limit), start + 1)
        out.append(text[start:end])
        start = end
    return [c for c in out if c.strip()]
