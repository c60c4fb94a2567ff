"""Rich messages (Bot API 10.1+): validate an ``InputRichMessage`` and render its plain text.

:func:`check_rich_message` takes the ``rich_message`` parameter as decoded JSON and returns a
:class:`RichContent` (the blocks as sent, a plain-text rendering, the counted sizes), or raises
:class:`RichError` whose ``description`` goes after ``Bad Request: ``.

Limits: "Rich Message Limits" in https://core.telegram.org/bots/api#rich-messages (values as
tdlib's ``rich_message_*_max`` options): 32 768 characters of text (formula sources included),
500 blocks (nested blocks, list items and table rows count), nesting depth 16, 50 media,
20 table columns. The docs give no error wording; the descriptions are in :data:`RICH_ERRORS`.
Depth as counted here: a top-level block is at 1; blocks inside a quotation, details, collage
or list item one deeper; each rich-text entity (bold, link...) one deeper than what holds it.
A table's columns are its first row's cells (colspans added); a later row may not be wider.

Plain text (``EmuMessage.text`` of a rich message), blocks one per line:
headings, paragraphs, footers, pull quotes, thinking: their text; ``pre``: the code as is;
formulas: their LaTeX source; lists: one line per item (no bullets); tables: the caption, then
one line per row, cells joined by `` | ``; details: the summary, then the content; quotations:
the content, then the credit; media, maps, collages: their caption; dividers, anchors and
buttons: nothing. Inline rich text keeps only its characters (custom emoji: the alternative
text, inline formulas: the source). For ``html``: tags are dropped, block tags end a line and
entities are unescaped (html checks: balanced tags, at most 20 cells in a row, block and
depth counts by tags, ``<tg-thinking>`` only in drafts); for ``markdown``: line markers
(``#``, ``-``, ``*``, ``>``, ``1.``, table pipes) and inline markers (``**``, ``__``,
``~~``, backticks, ``$``) are dropped.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from .entities import utf16_len

MAX_TEXT_LENGTH = 32_768
MAX_BLOCKS = 500
MAX_DEPTH = 16
MAX_MEDIA = 50
MAX_TABLE_COLUMNS = 20

# Every 400 the rich checks give, in one place (text after "Bad Request: ").
RICH_ERRORS = {
    "no_content": "rich message must have exactly one of html, markdown or blocks",
    "many_contents": "only one of html, markdown or blocks can be specified in a rich message",
    "not_object": "can't parse rich message: InputRichMessage must be an Object",
    "empty": "rich message is empty",
    "too_long": "rich message is too long",
    "too_many_blocks": "rich message has too many blocks",
    "too_deep": "rich message nesting is too deep",
    "too_many_media": "rich message has too many media",
    "too_many_columns": "rich message table has too many columns",
    "row_too_wide": "can't parse rich message: table row {row} has more cells than the table "
    "has columns",
    "bad_cell": "can't parse rich message: wrong table cell in row {row}",
    "unknown_block": 'can\'t parse rich message: unknown block type "{type}"',
    "bad_block": 'can\'t parse rich message: wrong field "{field}" in a block of type "{type}"',
    "unknown_text": 'can\'t parse rich message: unknown rich text type "{type}"',
    "bad_text": "can't parse rich message: RichText must be a String, an Array or an Object",
    "thinking": "thinking blocks are allowed only in message drafts",
    "html": "can't parse rich message: {reason}",
}

_TEXT_BLOCKS = {"paragraph", "heading", "footer", "pre", "thinking"}
_QUOTE_BLOCKS = {"pullquote", "expandable_blockquote"}
_MEDIA_BLOCKS = {"photo", "video", "animation", "audio", "document", "voice_note"}
_CONTAINER_BLOCKS = {"blockquote", "collage", "slideshow", "details"}
BLOCK_TYPES = frozenset(
    _TEXT_BLOCKS
    | _QUOTE_BLOCKS
    | _MEDIA_BLOCKS
    | _CONTAINER_BLOCKS
    | {"mathematical_expression", "list", "table", "divider", "anchor", "buttons", "map"}
)
# Rich text entities: the field holding their own text (None: nothing to show).
_TEXT_FIELD = {
    "mathematical_expression": "expression",
    "custom_emoji": "alternative_text",
    "anchor": None,
}
TEXT_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "date_time",
        "text_mention",
        "subscript",
        "superscript",
        "marked",
        "code",
        "custom_emoji",
        "mathematical_expression",
        "url",
        "email_address",
        "phone_number",
        "bank_card_number",
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "button",
        "anchor",
        "anchor_link",
        "reference",
        "reference_link",
    }
)


class RichError(Exception):
    """A rich message Telegram refuses; ``description`` follows ``Bad Request: ``."""

    def __init__(self, key: str, **fmt: Any) -> None:
        self.description = RICH_ERRORS[key].format(**fmt)
        super().__init__(self.description)


@dataclass
class RichContent:
    """A checked rich message: what was sent and what a reader sees as plain text."""

    source: str  # "blocks" | "html" | "markdown"
    message: dict[str, Any]  # the InputRichMessage as sent
    blocks: list[dict[str, Any]]  # blocks as sent; html/markdown: one paragraph per line
    text: str
    block_count: int = 0
    depth: int = 0
    media_count: int = 0
    has_thinking: bool = False
    columns: list[int] = field(default_factory=list)  # per table


def check_rich_message(value: Any, *, draft: bool = False) -> RichContent:
    """Validate ``rich_message`` against the format and the documented limits."""
    if not isinstance(value, dict):
        raise RichError("not_object")
    given = [k for k in ("html", "markdown", "blocks") if value.get(k) is not None]
    if not given:
        raise RichError("no_content")
    if len(given) > 1:
        raise RichError("many_contents")
    source = given[0]
    content = _check_blocks(value) if source == "blocks" else _check_markup(value, source)
    if not content.text.strip() and not content.media_count:
        raise RichError("empty")
    if utf16_len(content.text) > MAX_TEXT_LENGTH:
        raise RichError("too_long")
    if content.block_count > MAX_BLOCKS:
        raise RichError("too_many_blocks")
    if content.depth > MAX_DEPTH:
        raise RichError("too_deep")
    if content.media_count > MAX_MEDIA:
        raise RichError("too_many_media")
    if content.has_thinking and not draft:
        raise RichError("thinking")
    return content


# ------------------------------------------------------------------------ blocks


class _Walker:
    """One pass over the blocks: counts, depth, plain text lines."""

    def __init__(self) -> None:
        self.blocks = 0
        self.depth = 0
        self.media = 0
        self.thinking = False
        self.columns: list[int] = []

    def blocks_text(self, blocks: Any, depth: int, owner: str = "message") -> list[str]:
        if not isinstance(blocks, list):
            raise RichError("bad_block", field="blocks", type=owner)
        lines: list[str] = []
        for block in blocks:
            lines.extend(self.block(block, depth))
        return lines

    def block(self, block: Any, depth: int) -> list[str]:
        if not isinstance(block, dict):
            raise RichError("unknown_block", type=type(block).__name__)
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            raise RichError("unknown_block", type=kind)
        self.blocks += 1
        self.depth = max(self.depth, depth)
        text = self._texts(block, depth)
        if kind in _TEXT_BLOCKS:
            self.thinking = self.thinking or kind == "thinking"
            return [text("text", required=True)]
        if kind in _QUOTE_BLOCKS:
            return [text("text", required=True), text("credit")]
        if kind == "mathematical_expression":
            expression = block.get("expression")
            if not isinstance(expression, str):
                raise RichError("bad_block", field="expression", type=kind)
            return [expression]
        if kind in _MEDIA_BLOCKS:
            self.media += 1
            return self._caption(block, depth)
        if kind == "map":
            return self._caption(block, depth)
        if kind == "list":
            return self._list(block, depth)
        if kind == "table":
            return self._table(block, depth)
        if kind == "details":
            summary = text("summary", required=True)
            return [summary, *self.blocks_text(block.get("blocks"), depth + 1, kind)]
        if kind in _CONTAINER_BLOCKS:
            inner = self.blocks_text(block.get("blocks"), depth + 1, kind)
            if kind == "blockquote":
                return [*inner, text("credit")]
            return [*inner, *self._caption(block, depth)]
        return []  # divider, anchor, buttons

    def _texts(self, block: dict[str, Any], depth: int) -> Any:
        def text(key: str, *, required: bool = False) -> str:
            if key not in block or block[key] is None:
                if required:
                    raise RichError("bad_block", field=key, type=block.get("type"))
                return ""
            return self.rich_text(block[key], depth)

        return text

    def _caption(self, block: dict[str, Any], depth: int) -> list[str]:
        caption = block.get("caption")
        if caption is None:
            return []
        if not isinstance(caption, dict):
            raise RichError("bad_block", field="caption", type=block.get("type"))
        return [
            self.rich_text(caption.get("text", ""), depth),
            self.rich_text(caption.get("credit") or "", depth),
        ]

    def _list(self, block: dict[str, Any], depth: int) -> list[str]:
        items = block.get("items")
        if not isinstance(items, list):
            raise RichError("bad_block", field="items", type="list")
        lines: list[str] = []
        for item in items:
            if not isinstance(item, dict):
                raise RichError("bad_block", field="items", type="list")
            self.blocks += 1  # list items count as blocks
            inner = self.blocks_text(item.get("blocks"), depth + 1, "list")
            lines.append(" ".join(x for x in inner if x))
        return lines

    def _table(self, block: dict[str, Any], depth: int) -> list[str]:
        rows = block.get("cells")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise RichError("bad_block", field="cells", type="table")
        lines = [self.rich_text(block.get("caption") or "", depth)]
        columns = 0
        for number, row in enumerate(rows, 1):
            self.blocks += 1  # table rows count as blocks
            width = 0
            cells: list[str] = []
            for cell in row:
                if not isinstance(cell, dict):
                    raise RichError("bad_cell", row=number)
                span = cell.get("colspan") or 1
                if not isinstance(span, int) or span < 1:
                    raise RichError("bad_cell", row=number)
                width += span
                cells.append(self.rich_text(cell.get("text") or "", depth + 1))
            if number == 1:
                columns = width  # the first row sets the table's columns
                if columns > MAX_TABLE_COLUMNS:
                    raise RichError("too_many_columns")
            elif width > columns:
                raise RichError("row_too_wide", row=number)
            lines.append(" | ".join(cells))
        self.columns.append(columns)
        return lines

    def rich_text(self, value: Any, depth: int) -> str:
        """The characters of a RichText; entities nest one level deeper than their block."""
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return "".join(self.rich_text(v, depth) for v in value)
        if not isinstance(value, dict):
            raise RichError("bad_text")
        kind = value.get("type")
        if kind not in TEXT_TYPES:
            raise RichError("unknown_text", type=kind)
        self.depth = max(self.depth, depth + 1)
        if kind == "button":
            button = value.get("button")
            inner = button.get("text", "") if isinstance(button, dict) else ""
            return self.rich_text(inner, depth + 1)
        if kind in _TEXT_FIELD:
            key = _TEXT_FIELD[kind]
            return str(value.get(key) or "") if key else ""
        return self.rich_text(value.get("text", ""), depth + 1)


def _check_blocks(value: dict[str, Any]) -> RichContent:
    blocks = value["blocks"]
    walker = _Walker()
    lines = walker.blocks_text(blocks, 1)
    return RichContent(
        source="blocks",
        message=value,
        blocks=list(blocks),
        text="\n".join(line for line in lines if line),
        block_count=walker.blocks,
        depth=walker.depth,
        media_count=walker.media,
        has_thinking=walker.thinking,
        columns=walker.columns,
    )


# ------------------------------------------------------------------ html, markdown

_VOID_TAGS = {"br", "hr", "img", "wbr", "source", "input", "meta", "col"}
_LINE_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "pre", "footer", "aside"}
_LINE_TAGS |= {"blockquote", "details", "summary", "tg-math-block", "tg-thinking", "br", "hr"}
_LINE_TAGS |= {"figcaption", "div", "table", "ul", "ol", "caption"}
# Tags that make a block (list items and table rows count, like in the blocks form).
_COUNTED_TAGS = _LINE_TAGS - {"br", "summary", "caption", "figcaption", "div"}
_MEDIA_TAGS = {"img", "video", "audio", "tg-document", "tg-voice"}


class _HtmlScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.depth = self.blocks = self.media = 0
        self.thinking = False
        self.parts: list[str] = []
        self.columns: list[int] = []
        self._row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _COUNTED_TAGS:
            self.blocks += 1
        self.media += tag in _MEDIA_TAGS
        self.thinking = self.thinking or tag == "tg-thinking"
        if tag == "tr":
            self._row = 0
        if tag in ("td", "th"):
            span = dict(attrs).get("colspan") or "1"
            self._row += int(span) if span.isdigit() else 1
            if self._row > MAX_TABLE_COLUMNS:
                raise RichError("too_many_columns")
            if self._row > 1:
                self.parts.append(" | ")
        if tag in _LINE_TAGS:
            self.parts.append("\n")
        if tag not in _VOID_TAGS:
            self.stack.append(tag)
            self.depth = max(self.depth, len(self.stack))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            self.handle_starttag(tag, attrs)
        else:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            expected = f'"</{self.stack[-1]}>"' if self.stack else "no end tag"
            raise RichError("html", reason=f'unmatched end tag "</{tag}>", expected {expected}')
        self.stack.pop()
        if tag in _LINE_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.split("\n") if line.strip()]


def _check_markup(value: dict[str, Any], source: str) -> RichContent:
    raw = value[source]
    if not isinstance(raw, str):
        raise RichError("not_object")
    if source == "html":
        scan = _HtmlScan()
        scan.feed(raw)
        scan.close()
        if scan.stack:
            raise RichError("html", reason=f'can\'t find end tag for "<{scan.stack[-1]}>"')
        lines = _lines(html_lib.unescape("".join(scan.parts)))
        blocks, depth, media = max(scan.blocks, 1), scan.depth, scan.media
        thinking = scan.thinking
    else:
        lines = [_markdown_line(line) for line in _lines(raw)]
        lines = [line for line in lines if line]
        blocks, depth, media = len(lines), 1, len(re.findall(r"!\[", raw))
        thinking = False
    return RichContent(
        source=source,
        message=value,
        blocks=[{"type": "paragraph", "text": line} for line in lines],
        text="\n".join(lines),
        block_count=blocks,
        depth=depth,
        media_count=media,
        has_thinking=thinking,
    )


_MD_LINE_MARK = re.compile(r"^(#{1,6}\s+|[-*+]\s+(\[[ xX]\]\s+)?|>\s*|\d+[.)]\s+|```\w*)")
_MD_INLINE = re.compile(r"\*\*|__|~~|`|\$\$?")


def _markdown_line(line: str) -> str:
    line = _MD_LINE_MARK.sub("", line)
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            return ""  # a table's separator row
        line = " | ".join(cells)
    if set(line) <= set("-*_ "):
        return ""  # a divider
    return _MD_INLINE.sub("", line).strip()


# ------------------------------------------------------------------ received form


def received_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks as a received ``RichMessage`` carries them: list items get a label, maps their
    size; media blocks (the emulator keeps no rich media) become their caption's paragraph."""
    return [_received(b) for b in blocks]


def _received(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    out = {k: v for k, v in block.items() if v is not None}
    if kind in _MEDIA_BLOCKS:
        caption = block.get("caption") or {}
        return {"type": "paragraph", "text": caption.get("text", "") if caption else ""}
    if kind == "thinking":
        return out
    if kind == "map":
        out.setdefault("zoom", 15)
        out.setdefault("width", 300)
        out.setdefault("height", 200)
    if kind == "list":
        items = []
        for number, item in enumerate(block.get("items") or [], 1):
            label = "•" if item.get("type") in (None, "", "disc", "circle", "square") else ""
            label = label or f"{item.get('value') or number}."
            clean = {k: v for k, v in item.items() if v is not None}
            items.append({**clean, "label": label, "blocks": received_blocks(item["blocks"])})
        out["items"] = items
    if "blocks" in out and kind != "list":
        out["blocks"] = received_blocks(out["blocks"])
    return out
