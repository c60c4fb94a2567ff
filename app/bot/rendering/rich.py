"""Model Markdown -> Telegram rich messages (``InputRichMessage`` of ``InputRichBlock*``).

Parser: ``markdown-it-py`` (CommonMark, maintained by executablebooks) with its GFM ``table`` and
``strikethrough`` rules, and ``mdit-py-plugins``: ``dollarmath`` for ``$$...$$`` display and
``$x$`` inline math; ``\\[...\\]`` and ``\\(...\\)`` by our own two small parser rules
(:mod:`app.bot.rendering.rich_brackets`). Raw HTML is
switched off in the parser, so ``<b>`` or ``Vec<T>`` stay literal text. Dollar math follows the
plugin's currency-safe rules (no space inside the dollars, no digit right outside them), so
"costs $5 and $10" is text.

Construct -> block:

* ``#``..``######`` -> ``section_heading`` (size 1-6); paragraph -> ``paragraph``;
  a paragraph that is only ``$$...$$`` -> ``mathematical_expression``
* bullet / ordered lists (nested) -> ``list`` of ``list_item`` (ordered items carry
  ``value`` and ``type="1"``, so numbering survives a split)
* GFM table -> ``table`` (header cells ``is_header``, column alignment kept); more than
  ``max_table_columns`` columns, or a row with more cells than the header (GFM would drop
  them) -> ``pre`` block of the table's Markdown source
* fenced / indented code -> ``pre`` with ``language``;
  ``$$``/``\\[`` math -> ``mathematical_expression``
* blockquote -> ``blockquote``; ``---`` -> ``divider``
* inline: ``**`` bold, ``*`` italic, ``~~`` strikethrough, ``code``, links (http, https, tg,
  mailto; other targets are shown as text with the target in brackets), images as links,
  ``$x$``/``\\(x\\)`` -> inline ``mathematical_expression``; line breaks stay ``\\n``

Nesting deeper than ``max_depth`` allows is flattened: a list or quotation that has no room
left puts its content into its parent, formatting that has no room left becomes plain text.
Splitting and measuring: :mod:`app.bot.rendering.rich_split`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram.types import (
    InputRichBlockBlockQuotation,
    InputRichBlockDetails,
    InputRichBlockDivider,
    InputRichBlockList,
    InputRichBlockListItem,
    InputRichBlockMathematicalExpression,
    InputRichBlockParagraph,
    InputRichBlockPreformatted,
    InputRichBlockSectionHeading,
    InputRichBlockTable,
    InputRichBlockThinking,
    InputRichBlockUnion,
    InputRichMessage,
    RichBlockTableCell,
    RichTextBold,
    RichTextCode,
    RichTextItalic,
    RichTextMathematicalExpression,
    RichTextStrikethrough,
    RichTextUnion,
    RichTextUrl,
)
from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.dollarmath import dollarmath_plugin

from app.bot.rendering.converters import converted
from app.bot.rendering.rich_brackets import brackets_math_plugin
from app.bot.rendering.rich_split import (
    RICH_LIMITS,
    RichLimits,
    Size,
    block_size,
    chunk_text,
    fit_block,
    pack,
    rich_plain_text,
    u16,
)

__all__ = ["RICH_LIMITS", "RichLimits", "rich_draft", "rich_parts", "rich_plain_text"]

logger = logging.getLogger(__name__)

Block = InputRichBlockUnion

# The parser's own recursion guard (markdown-it skips the rest of a document nested deeper).
# Far above what renders (max_depth), yet well inside Python's recursion limit; a document that
# reaches it is shown as plain text instead (see _blocks_of).
_MAX_NESTING = 120

_MD = MarkdownIt("commonmark", {"html": False, "maxNesting": _MAX_NESTING})
_MD.enable(["table", "strikethrough"])
_MD.use(
    dollarmath_plugin,
    allow_space=False,
    allow_digits=False,
    allow_blank_lines=False,
    double_inline=True,
)
_MD.use(brackets_math_plugin)
_MD.parse("")  # compile the rule chains now, not in two threads at once

_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_WRAPPERS: dict[str, Any] = {
    "strong": RichTextBold,
    "em": RichTextItalic,
    "s": RichTextStrikethrough,
}
_MATH_BLOCKS = ("math_block", "math_block_label")
_ELLIPSIS = "…"


# --------------------------------------------------------------------------------------------
# Markdown -> blocks
# --------------------------------------------------------------------------------------------


def _plain(nodes: list[SyntaxTreeNode]) -> str:
    out: list[str] = []
    for n in nodes:
        if n.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif n.children:
            out.append(_plain(n.children))
        else:
            out.append(n.content)
    return "".join(out)


class _Converter:
    def __init__(self, source: str, limits: RichLimits) -> None:
        self.lines = source.splitlines(keepends=True)
        self.limits = limits

    # -- inline ------------------------------------------------------------------------------

    def inline(self, nodes: list[SyntaxTreeNode], room: int) -> RichTextUnion:
        """Rich text of inline nodes, at most ``room`` levels deep."""
        if room <= 1:
            return _plain(nodes)
        segments: list[Any] = []
        for node in nodes:
            seg = self.inline_one(node, room - 1)
            if isinstance(seg, str):
                if not seg:
                    continue
                if segments and isinstance(segments[-1], str):
                    segments[-1] += seg
                    continue
            segments.append(seg)
        if not segments:
            return ""
        return segments[0] if len(segments) == 1 else segments

    def inline_one(self, node: SyntaxTreeNode, room: int) -> RichTextUnion:
        t = node.type
        if t == "text":
            return node.content
        if t in ("softbreak", "hardbreak"):
            return "\n"
        if t in ("math_inline", "math_inline_double"):
            return RichTextMathematicalExpression(expression=node.content)
        if room < 2:
            return _plain([node])
        if t == "code_inline":
            return RichTextCode(text=node.content)
        if t in _WRAPPERS:
            return _WRAPPERS[t](text=self.inline(node.children, room - 1))  # type: ignore[no-any-return]
        if t in ("link", "image"):
            attr = "href" if t == "link" else "src"
            target = str(node.attrs.get(attr) or "")
            label = self.inline(node.children, room - 1) if t == "link" else _plain(node.children)
            if target.lower().startswith(_LINK_SCHEMES):
                return RichTextUrl(text=label or target, url=target)
            shown = _plain(node.children)
            return f"{shown} ({target})" if target and target != shown else shown
        return node.content or _plain(node.children)

    # -- blocks ------------------------------------------------------------------------------

    def blocks(self, nodes: list[SyntaxTreeNode], room: int) -> list[Block]:
        out: list[Block] = []
        for node in nodes:
            out.extend(self.block(node, room))
        return out

    def block(self, node: SyntaxTreeNode, room: int) -> list[Block]:
        t = node.type
        if t in ("paragraph", "heading"):
            kids = node.children[0].children if node.children else []
            if t == "paragraph" and len(kids) == 1 and kids[0].type == "math_inline_double":
                return [InputRichBlockMathematicalExpression(expression=kids[0].content.strip())]
            text = self.inline(kids, room - 1)
            if text == "":
                return []
            if t == "heading":
                return [InputRichBlockSectionHeading(text=text, size=int(node.tag[1:]))]
            return [InputRichBlockParagraph(text=text)]
        if t in ("fence", "code_block"):
            code = node.content[:-1] if node.content.endswith("\n") else node.content
            # The info string's first word is the language; the rest (a title, attributes)
            # is shown as a line of text above the code (all of it, if there is no code).
            info = node.info.strip()
            words = info.split(maxsplit=1)
            if not code:
                return [InputRichBlockParagraph(text=info)] if info else []
            title: list[Block] = [InputRichBlockParagraph(text=words[1])] if len(words) > 1 else []
            return [*title, InputRichBlockPreformatted(text=code, language=words[0])]
        if t in _MATH_BLOCKS:
            math: list[Block] = []
            if node.content.strip():
                math.append(InputRichBlockMathematicalExpression(expression=node.content.strip()))
            if t != "math_block" and node.info.strip():  # an equation's label / number
                math.append(InputRichBlockParagraph(text=f"({node.info.strip()})"))
            return math
        if t == "hr":
            return [InputRichBlockDivider()]
        if t == "blockquote":
            if room < 3:
                return self.blocks(node.children, room)
            inner = self.blocks(node.children, room - 1)
            return [InputRichBlockBlockQuotation(blocks=inner)] if inner else []
        if t in ("bullet_list", "ordered_list"):
            return self.list_(node, room)
        if t == "table":
            return self.table(node, room)
        text = node.content or _plain(node.children)
        return [InputRichBlockParagraph(text=text)] if text.strip() else []

    def list_(self, node: SyntaxTreeNode, room: int) -> list[Block]:
        if room < 4:  # list > item > paragraph > text: no room, the items join the parent
            return [b for item in node.children for b in self.blocks(item.children, room)]
        ordered = node.type == "ordered_list"
        start = int(node.attrs.get("start", 1) or 1) if ordered else 1
        items = [
            InputRichBlockListItem(
                blocks=self.blocks(item.children, room - 2),
                value=start + i if ordered else None,
                type="1" if ordered else None,
            )
            for i, item in enumerate(node.children)
        ]
        return [InputRichBlockList(items=items)] if items else []

    def table(self, node: SyntaxTreeNode, room: int) -> list[Block]:
        rows = [tr for section in node.children for tr in section.children]
        columns = max((len(tr.children) for tr in rows), default=0)
        if columns > self.limits.max_table_columns or room < 3 or self.drops_cells(rows, columns):
            start, end = node.map or (0, 0)
            source = "".join(self.lines[start:end]).rstrip("\n")
            return [InputRichBlockPreformatted(text=source, language="markdown")]
        cells = [[self.cell(cell, room - 2) for cell in tr.children] for tr in rows]
        return [InputRichBlockTable(cells=cells, is_bordered=True)] if cells else []

    def drops_cells(self, rows: list[SyntaxTreeNode], columns: int) -> bool:
        """Whether a row has more cells than the header: GFM ignores them, so the table is
        shown as its source instead (the row is split as markdown-it's table rule does)."""
        for tr in rows:
            line = self.lines[tr.map[0]].strip() if tr.map and tr.map[0] < len(self.lines) else ""
            if line.startswith(">"):  # inside a quotation: the prefix is no cell
                continue
            cells = escapedSplit(line)
            if cells and cells[0] == "":
                cells.pop(0)
            if cells and cells[-1] == "":
                cells.pop()
            if any(c.strip() for c in cells[columns:]):
                return True
        return False

    def cell(self, node: SyntaxTreeNode, room: int) -> RichBlockTableCell:
        style = str(node.attrs.get("style") or "")
        align = style.rpartition(":")[2] if style.startswith("text-align:") else "left"
        kids = node.children[0].children if node.children else []
        return RichBlockTableCell(
            text=self.inline(kids, room),
            align=align if align in ("left", "center", "right") else "left",
            valign="top",
            is_header=True if node.type == "th" else None,
        )


def _plain_blocks(text: str) -> list[Block]:
    """Text shown as is: one paragraph per blank-line separated chunk."""
    return [InputRichBlockParagraph(text=p.strip("\n")) for p in text.split("\n\n") if p.strip()]


def _blocks_of(markdown: str, limits: RichLimits) -> list[Block]:
    """The answer's blocks. Never raises: if the parser fails, or nesting reached the parser's
    guard (markdown-it would drop the rest), the answer is shown as plain paragraphs."""

    def convert() -> list[Block]:
        tokens = _MD.parse(markdown)
        if any(tok.level >= _MAX_NESTING - 1 for tok in tokens):
            return _plain_blocks(markdown)
        tree = SyntaxTreeNode(tokens)
        return _Converter(markdown, limits).blocks(tree.children, limits.max_depth)

    return converted(convert, plain=lambda: _plain_blocks(markdown), what="rich rendering")


# --------------------------------------------------------------------------------------------
# Reasoning
# --------------------------------------------------------------------------------------------


def _elide_middle(text: str, max_units: int) -> str:
    if u16(text) <= max_units:
        return text
    half = max(max_units // 2 - 2, 1)
    head = chunk_text(text, half)[0]
    tail = chunk_text(text[::-1], half)[0][::-1]
    return f"{head}\n\n{_ELLIPSIS}\n\n{tail}"


def _reasoning_details(reasoning: str, label: str, max_chars: int, max_blocks: int) -> Block:
    """A collapsed ``details`` block: summary ``label``, the reasoning as plain paragraphs; its
    middle elided if it would not fit in ``max_chars`` / ``max_blocks``."""
    text = _elide_middle(reasoning.strip(), max(max_chars - u16(label) - 16, 64))
    paragraphs = _plain_blocks(text)
    keep = max(max_blocks - 2, 1)
    if len(paragraphs) > keep:  # too many paragraphs: the rest join the last one
        rest = "\n\n".join(str(p.text) for p in paragraphs[keep - 1 :])  # type: ignore[union-attr]
        paragraphs = [*paragraphs[: keep - 1], InputRichBlockParagraph(text=rest)]
    return InputRichBlockDetails(summary=label, blocks=paragraphs)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def rich_parts(
    markdown: str,
    *,
    reasoning: str | None = None,
    reasoning_label: str = "Reasoning",
    limits: RichLimits = RICH_LIMITS,
) -> list[InputRichMessage]:
    """The final answer as rich messages, each within ``limits``, cut only between top-level
    blocks (an oversized block is cut by ``rich_split.fit_block``). With ``reasoning``, the
    first message starts with a collapsed ``details`` block holding it (its middle elided if
    it alone would not fit in a message). Never raises; an empty answer without reasoning gives
    an empty list (Telegram rejects empty messages: the caller decides what to show)."""
    blocks = _blocks_of(markdown, limits)
    if reasoning and reasoning.strip():
        blocks.insert(
            0,
            _reasoning_details(reasoning, reasoning_label, limits.max_chars, limits.max_blocks),
        )
    return [InputRichMessage(blocks=part) for part in pack(blocks, limits)]


def _head_and_tail(pieces: list[tuple[Block, Size]], chars: int, count: int) -> list[Block]:
    """As many blocks from the start and from the end as fit in half the room each (then what is
    left), with an ellipsis paragraph where the middle was."""
    head: list[Block] = []
    used_c = used_b = 0
    i = 0
    while i < len(pieces) and (
        used_c + pieces[i][1].chars <= chars // 2 and used_b + pieces[i][1].blocks <= count // 2
    ):
        head.append(pieces[i][0])
        used_c += pieces[i][1].chars
        used_b += pieces[i][1].blocks
        i += 1
    tail: list[Block] = []
    j = len(pieces) - 1
    while j >= i and (
        used_c + pieces[j][1].chars <= chars - 1 and used_b + pieces[j][1].blocks <= count - 1
    ):
        tail.insert(0, pieces[j][0])
        used_c += pieces[j][1].chars
        used_b += pieces[j][1].blocks
        j -= 1
    if j < i:
        return head + tail
    return [*head, InputRichBlockParagraph(text=_ELLIPSIS), *tail]


def rich_draft(
    markdown_so_far: str,
    *,
    thinking: bool = False,
    reasoning_so_far: str | None = None,
    reasoning_label: str = "Reasoning",
    limits: RichLimits = RICH_LIMITS,
) -> InputRichMessage:
    """A streaming preview as one rich message (for ``SendRichMessageDraft``).

    Unfinished Markdown renders as far as it goes: an open code fence is code so far, a table
    shows the rows written, stray markers are text. With ``thinking``, a ``thinking`` block comes
    first, holding the label and the latest reasoning (its end, at most a quarter of
    ``max_chars``); without it, reasoning so far shows as a collapsed ``details`` block as in the
    final answer. If the answer exceeds the limits the preview keeps its START and its END
    (each up to half the room) with an ``…`` paragraph between: the top the user began to read
    stays put, the newest text stays visible. Never raises; never empty.
    """
    lead: list[Block] = []
    quarter = max(limits.max_chars // 4, 64)
    reasoning = (reasoning_so_far or "").strip()
    if thinking:
        if reasoning:
            tail = reasoning if u16(reasoning) <= quarter else _ELLIPSIS + _tail(reasoning, quarter)
            lead.append(
                InputRichBlockThinking(text=[RichTextBold(text=reasoning_label), "\n" + tail])
            )
        else:
            lead.append(InputRichBlockThinking(text=reasoning_label + _ELLIPSIS))
    elif reasoning:
        lead.append(_reasoning_details(reasoning, reasoning_label, quarter, limits.max_blocks // 4))
    used = [block_size(b) for b in lead]
    room = RichLimits(
        max_chars=limits.max_chars - sum(s.chars for s in used),
        max_blocks=limits.max_blocks - sum(s.blocks for s in used),
        max_depth=limits.max_depth,
        max_table_columns=limits.max_table_columns,
    )
    half = RichLimits(max(room.max_chars // 2, 2), max(room.max_blocks // 2, 2))
    pieces = [p for b in _blocks_of(markdown_so_far, limits) for p in fit_block(b, half)]
    body = _head_and_tail(pieces, room.max_chars, room.max_blocks)
    blocks = lead + body or [InputRichBlockParagraph(text=_ELLIPSIS)]
    return InputRichMessage(blocks=blocks)


def _tail(text: str, max_units: int) -> str:
    return chunk_text(text[::-1], max_units)[0][::-1]
