"""Splitting rendered text (plain text + UTF-16 entities) into Telegram messages.

The converter only splits at newlines or hard cuts and may cut inside entities; this cuts at
paragraph, line, sentence or word boundaries, never inside an entity when a cut outside one
exists, and never through a visible character (ZWJ emoji, combining marks).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator

from aiogram.types import MessageEntity
from telegramify_markdown.entity import MessageEntity as _Entity


class U16:
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


def split(text: str, entities: list[_Entity], limit: int) -> list[tuple[str, list[MessageEntity]]]:
    """Greedy split of (text, UTF-16 entities) into parts of at most ``limit`` UTF-16 units."""
    u16 = U16(text)
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
    text: str, a: int, b: int, entities: list[_Entity], u16: U16
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


def hard_chunks(text: str, limit: int) -> list[str]:
    u16 = U16(text)
    out: list[str] = []
    start = 0
    while start < len(text):
        end = max(u16.to_py(u16.to_u16(start) + limit), start + 1)
        out.append(text[start:end])
        start = end
    return [c for c in out if c.strip()]


__all__ = ["U16", "hard_chunks", "split"]
