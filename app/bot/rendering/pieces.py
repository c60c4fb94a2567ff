"""Model Markdown cut into pieces of bounded size that convert like the whole.

The Markdown converter's cost is not linear on every input (``"$" * 64_000`` took 6 s in
telegramify-markdown, quadratic), so ``app.bot.rendering.markdown`` converts long answers piece by
piece. Cuts fall at blank lines outside fenced code where possible, so ordinary answers
convert exactly as they would in one go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# At most this many source characters are converted in one call: the converter's worst case
# is quadratic, and at this size it stays near 0.1 s. Almost every answer is one piece.
PIECE_CHARS = 8000
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Piece:
    source: str
    cuts_code: bool = False  # ends inside a code block that the next piece continues


def pieces(md: str, size: int | None = None) -> list[Piece]:
    """``md`` cut into pieces of about ``size`` characters that convert like the whole.

    Cuts fall at blank lines outside fenced code where possible; a longer block is cut at
    line ends (a code block is closed and reopened around the cut, and the halves are
    joined again after conversion), and a longer line is cut hard. Joined, the pieces give
    ``md`` back, except for those added fence lines.
    """
    size = size or PIECE_CHARS
    if len(md) <= size:
        return [Piece(md)]
    out: list[Piece] = []
    current: Piece | None = None
    for block in _blocks(md):
        for part in _cut_block(block, size):
            if current is not None and len(current.source) + len(part.source) > size:
                out.append(current)
                current = None
            current = (
                part if current is None else Piece(current.source + part.source, part.cuts_code)
            )
    if current is not None:
        out.append(current)
    return out


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


def _cut_block(block: str, size: int) -> list[Piece]:
    if len(block) <= size:
        return [Piece(block)]
    out: list[Piece] = []
    current = ""
    fence: str | None = None
    opening = ""  # the line that opened the current code block
    for line in block.splitlines(keepends=True):
        for i in range(0, len(line), size):
            segment = line[i : i + size]
            if current and len(current) + len(segment) > size:
                if fence is not None:
                    current += ("" if current.endswith("\n") else "\n") + fence + "\n"
                out.append(Piece(current, cuts_code=fence is not None))
                current = opening if fence is not None else ""
            current += segment
        was_open = fence is not None
        fence = _fence_update(line, fence)
        if fence is not None and not was_open:
            opening = line if line.endswith("\n") else line + "\n"
    if current:
        out.append(Piece(current))
    return out


__all__ = ["PIECE_CHARS", "Piece", "pieces"]
