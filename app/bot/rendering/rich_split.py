"""Rich messages against Telegram's limits: measure blocks, cut an oversized block into blocks
that fit, pack blocks into messages. Knows aiogram's rich types only, no Markdown.

The documented "Rich Message Limits" (Bot API 10.x): all the texts of a message, formula
sources included, at most 32 768 characters; all blocks, list items and table rows together at
most 500; blocks and rich texts nested at most 16 deep; tables at most 20 columns.

How they are counted here (conservatively, where the documentation leaves room):

* characters in UTF-16 code units (never fewer than code points);
* every block, every list item and every table row counts one block;
* depth: every block, list item, table cell, rich-text wrapper (bold, link, ...), rich-text
  array and plain string is one level; a paragraph with plain text is 2 deep, a paragraph
  with "a **b**" is 4 deep (paragraph > array > bold > string).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram.types import (
    InputRichBlockBlockQuotation,
    InputRichBlockDetails,
    InputRichBlockList,
    InputRichBlockListItem,
    InputRichBlockMathematicalExpression,
    InputRichBlockParagraph,
    InputRichBlockPreformatted,
    InputRichBlockSectionHeading,
    InputRichBlockTable,
    InputRichBlockUnion,
    InputRichMessage,
    RichBlockTableCell,
    RichTextMathematicalExpression,
)

__all__ = [
    "RICH_LIMITS",
    "RichLimits",
    "Size",
    "block_size",
    "chunk_text",
    "fit_block",
    "message_size",
    "pack",
    "rich_plain_text",
    "rich_text_plain",
    "u16",
]

Block = InputRichBlockUnion


@dataclass(frozen=True)
class RichLimits:
    """Telegram's documented limits of one rich message (see the module's docstring)."""

    max_chars: int = 32_768
    max_blocks: int = 500
    max_depth: int = 16
    max_table_columns: int = 20


RICH_LIMITS = RichLimits()


@dataclass(frozen=True)
class Size:
    chars: int
    blocks: int
    depth: int

    def fits(self, limits: RichLimits) -> bool:
        return (
            self.chars <= limits.max_chars
            and self.blocks <= limits.max_blocks
            and self.depth <= limits.max_depth
        )


def u16(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Measuring and plain text
# --------------------------------------------------------------------------------------------


def _text_size(rt: Any) -> tuple[int, int]:
    """(characters, depth) of a rich text."""
    if isinstance(rt, str):
        return u16(rt), 1
    if isinstance(rt, list):
        chars = depth = 0
        for item in rt:
            c, d = _text_size(item)
            chars += c
            depth = max(depth, d)
        return chars, depth + 1
    if isinstance(rt, RichTextMathematicalExpression):
        return u16(rt.expression), 1
    inner = getattr(rt, "text", None)
    if inner is None:
        return 0, 1
    c, d = _text_size(inner)
    return c, d + 1


def block_size(block: Any) -> Size:
    """Characters, blocks and depth of one block (with everything inside it)."""
    chars, blocks, depth = 0, 1, 0
    for field in ("text", "summary", "credit", "caption"):
        value = getattr(block, field, None)
        if value is not None:
            c, d = _text_size(value)
            chars += c
            depth = max(depth, d)
    expression = getattr(block, "expression", None)
    if isinstance(expression, str):
        chars += u16(expression)
    for child in getattr(block, "blocks", None) or ():
        s = block_size(child)
        chars, blocks, depth = chars + s.chars, blocks + s.blocks, max(depth, s.depth)
    for item in getattr(block, "items", None) or ():
        s = block_size(item)  # an item has ``blocks`` and counts one itself
        chars, blocks, depth = chars + s.chars, blocks + s.blocks, max(depth, s.depth)
    for row in getattr(block, "cells", None) or ():
        blocks += 1
        for cell in row:
            c, d = _text_size(cell.text) if cell.text is not None else (0, 0)
            chars, depth = chars + c, max(depth, d + 1)
    return Size(chars, blocks, depth + 1)


def message_size(message: InputRichMessage) -> Size:
    sizes = [block_size(b) for b in message.blocks or ()]
    return Size(
        sum(s.chars for s in sizes),
        sum(s.blocks for s in sizes),
        max((s.depth for s in sizes), default=0),
    )


def rich_text_plain(rt: Any) -> str:
    """The characters of a rich text (a formula's source included)."""
    if isinstance(rt, str):
        return rt
    if isinstance(rt, list):
        return "".join(rich_text_plain(x) for x in rt)
    if isinstance(rt, RichTextMathematicalExpression):
        return rt.expression
    inner = getattr(rt, "text", None)
    return "" if inner is None else rich_text_plain(inner)


def _block_lines(block: Any, out: list[str]) -> None:
    for field in ("summary", "text", "credit", "caption"):
        value = getattr(block, field, None)
        if value is not None:
            out.append(rich_text_plain(value))
    expression = getattr(block, "expression", None)
    if isinstance(expression, str):
        out.append(expression)
    for child in getattr(block, "blocks", None) or ():
        _block_lines(child, out)
    for item in getattr(block, "items", None) or ():
        _block_lines(item, out)
    for row in getattr(block, "cells", None) or ():
        out.append("\t".join(rich_text_plain(c.text) for c in row if c.text is not None))


def rich_plain_text(message: InputRichMessage) -> str:
    """The text content of a rich message: every block's text on its own line, a table row's
    cells joined by tabs, formulas as their source."""
    out: list[str] = []
    for block in message.blocks or ():
        _block_lines(block, out)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Cutting
# --------------------------------------------------------------------------------------------


def chunk_text(text: str, max_units: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_units`` UTF-16 units: after the last newline
    that leaves a piece at least half full, else at the last space, else hard. The newline
    at a cut is dropped (the piece boundary shows it); every other character is kept."""
    max_units = max(int(max_units), 2)
    out: list[str] = []
    while u16(text) > max_units:
        n = max_units
        while (over := u16(text[:n]) - max_units) > 0:
            n -= max(over // 2, 1)
        cut = text.rfind("\n", 0, n)
        if cut >= n // 2:
            out.append(text[:cut])
            text = text[cut + 1 :]
            continue
        space = text.rfind(" ", 0, n)
        cut = space + 1 if space >= n // 2 else n
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return out


def _split_text(rt: Any, max_units: int) -> list[Any]:
    """A rich text cut into rich texts of at most ``max_units`` characters each."""
    if _text_size(rt)[0] <= max_units:
        return [rt]
    if isinstance(rt, str):
        return list(chunk_text(rt, max_units))
    if isinstance(rt, list):
        groups: list[Any] = []
        current: list[Any] = []
        used = 0
        for item in rt:
            c = _text_size(item)[0]
            if current and used + c > max_units:
                groups.append(current)
                current, used = [], 0
            if c > max_units:
                groups.extend(_split_text(item, max_units))
                continue
            current.append(item)
            used += c
        if current:
            groups.append(current)
        return [g[0] if isinstance(g, list) and len(g) == 1 else g for g in groups]
    if getattr(rt, "text", None) is not None:
        return [rt.model_copy(update={"text": p}) for p in _split_text(rt.text, max_units)]
    return list(chunk_text(rich_text_plain(rt), max_units))


def _group(
    pieces: Iterable[tuple[Any, Size]], limits: RichLimits, overhead: int
) -> list[list[Any]]:
    """Consecutive pieces grouped greedily so each group, plus ``overhead`` blocks for its
    container, stays within the characters and blocks of one message."""
    groups: list[list[Any]] = []
    current: list[Any] = []
    chars = blocks = 0
    for piece, size in pieces:
        if current and (
            chars + size.chars > limits.max_chars
            or blocks + size.blocks + overhead > limits.max_blocks
        ):
            groups.append(current)
            current, chars, blocks = [], 0, 0
        current.append(piece)
        chars += size.chars
        blocks += size.blocks
    if current:
        groups.append(current)
    return groups


def _fit_children(children: Iterable[Any], limits: RichLimits) -> list[tuple[Any, Size]]:
    return [fitted for child in children for fitted in fit_block(child, limits)]


def _split_table(table: InputRichBlockTable, limits: RichLimits) -> list[tuple[Block, Size]]:
    rows = table.cells
    head = [r for r in rows[:1] if r and all(c.is_header for c in r)]
    body = rows[len(head) :]

    def row_size(row: list[RichBlockTableCell]) -> Size:
        return block_size(InputRichBlockTable(cells=[row])) if row else Size(0, 1, 1)

    head_size = row_size(head[0]) if head else Size(0, 0, 0)
    room = RichLimits(
        max_chars=limits.max_chars - head_size.chars,
        max_blocks=limits.max_blocks - head_size.blocks,
        max_depth=limits.max_depth,
        max_table_columns=limits.max_table_columns,
    )
    out: list[tuple[Block, Size]] = []
    for group in _group(((r, row_size(r)) for r in body), room, overhead=0):
        part = InputRichBlockTable(
            cells=head + group,
            is_bordered=table.is_bordered,
            is_striped=table.is_striped,
            is_compact=table.is_compact,
        )
        size = block_size(part)
        if size.fits(limits):
            out.append((part, size))
        else:  # one row alone too big for a message: its cells as paragraphs
            for row in group:
                for cell in row:
                    if cell.text is not None:
                        out.extend(fit_block(InputRichBlockParagraph(text=cell.text), limits))
    return out


def _split_list(block: InputRichBlockList, limits: RichLimits) -> list[tuple[Block, Size]]:
    items: list[tuple[InputRichBlockListItem, Size]] = []
    for item in block.items:
        size = block_size(item)
        if size.chars <= limits.max_chars and size.blocks + 1 <= limits.max_blocks:
            items.append((item, size))
            continue
        # An item too big alone: its content over several items with the same label.
        inner = RichLimits(limits.max_chars, max(limits.max_blocks - 2, 2))
        for group in _group(_fit_children(item.blocks, inner), inner, overhead=0):
            piece = item.model_copy(update={"blocks": group})
            items.append((piece, block_size(piece)))
    out: list[tuple[Block, Size]] = []
    for group in _group(items, limits, overhead=1):
        part = InputRichBlockList(items=group)
        out.append((part, block_size(part)))
    return out


def _split_container(block: Any, limits: RichLimits) -> list[tuple[Block, Size]]:
    own = block.credit if isinstance(block, InputRichBlockBlockQuotation) else block.summary
    own_chars = _text_size(own)[0] if own is not None else 0
    inner = RichLimits(max(limits.max_chars - own_chars, 2), max(limits.max_blocks - 1, 2))
    out: list[tuple[Block, Size]] = []
    for group in _group(_fit_children(block.blocks, inner), inner, overhead=1):
        part = block.model_copy(update={"blocks": group})
        out.append((part, block_size(part)))
    return out


def fit_block(block: Block, limits: RichLimits) -> list[tuple[Block, Size]]:
    """``block`` as blocks that each fit in one message, with their sizes: a long code block
    over several preformatted blocks cut at line ends, a long table over several tables that
    repeat the header row, a long list over several lists (numbers kept), a long quotation
    over several quotations, a long paragraph over several paragraphs."""
    size = block_size(block)
    if size.chars <= limits.max_chars and size.blocks <= limits.max_blocks:
        return [(block, size)]
    pieces: list[Block]
    if isinstance(block, InputRichBlockPreformatted):
        text = rich_text_plain(block.text)
        pieces = [
            InputRichBlockPreformatted(text=p, language=block.language)
            for p in chunk_text(text, limits.max_chars)
        ]
    elif isinstance(block, InputRichBlockMathematicalExpression):
        pieces = [
            InputRichBlockPreformatted(text=p, language="latex")
            for p in chunk_text(block.expression, limits.max_chars)
        ]
    elif isinstance(block, InputRichBlockTable):
        return _split_table(block, limits)
    elif isinstance(block, InputRichBlockList):
        return _split_list(block, limits)
    elif isinstance(block, InputRichBlockBlockQuotation | InputRichBlockDetails):
        return _split_container(block, limits)
    elif (rich := getattr(block, "text", None)) is not None:
        pieces = [block.model_copy(update={"text": p}) for p in _split_text(rich, limits.max_chars)]
    else:
        return [(block, size)]
    return [(p, block_size(p)) for p in pieces]


# --------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------


def pack(
    blocks: Iterable[Block],
    limits: RichLimits,
    fit: Callable[[Block, RichLimits], list[tuple[Block, Size]]] = fit_block,
) -> list[list[Block]]:
    """Blocks packed in order into as few messages as the limits allow, cut only between
    top-level blocks (an oversized block is first cut by :func:`fit_block`). A heading that
    would end a message moves to the next one, with the text it heads."""
    parts: list[list[Block]] = []
    current: list[tuple[Block, Size]] = []
    chars = count = 0
    for block in blocks:
        for piece, size in fit(block, limits):
            if current and (
                chars + size.chars > limits.max_chars or count + size.blocks > limits.max_blocks
            ):
                carry: list[tuple[Block, Size]] = []
                last, last_size = current[-1]
                if (
                    len(current) > 1
                    and isinstance(last, InputRichBlockSectionHeading)
                    and last_size.chars + size.chars <= limits.max_chars
                    and last_size.blocks + size.blocks <= limits.max_blocks
                ):
                    carry = [current.pop()]
                parts.append([b for b, _ in current])
                current = carry
                chars = sum(s.chars for _, s in carry)
                count = sum(s.blocks for _, s in carry)
            current.append((piece, size))
            chars += size.chars
            count += size.blocks
    if current:
        parts.append([b for b, _ in current])
    return parts
