"""MarkdownV2 and legacy Markdown, parsed after tdlib's MessageEntity.cpp."""

from __future__ import annotations

from .entities import Entity, ParseError, sort_entities, utf16_len
from .entities import byte_offset as _byte_offset

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 like tdlib (without ``**>`` expandable blockquotes)."""
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    # stack of (type, argument, utf16_offset, char index, output index)
    stack: list[tuple[str, str, int, int, int]] = []
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def emit(s: str) -> None:
        nonlocal utf16
        out.append(s)
        utf16 += utf16_len(s)

    # Blockquotes are line-based; tdlib tracks them beside the nested entities.
    quote_start: int | None = None
    i = 0
    while i < n:
        c = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if line_start and not in_code:
            if c == ">":
                if quote_start is None:
                    quote_start = utf16
                i += 1
                continue
            if quote_start is not None:
                # previous line ended the quote (its trailing newline stays outside)
                end = utf16 - 1 if out and out[-1].endswith("\n") else utf16
                if end > quote_start:
                    entities.append(
                        {"type": "blockquote", "offset": quote_start, "length": end - quote_start}
                    )
                quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            continue
        reserved = {"`"} if in_code else _MDV2_RESERVED
        if c not in reserved:
            emit(c)
            i += 1
            continue
        is_end = False
        if stack:
            top = stack[-1][0]
            is_end = {
                "bold": c == "*",
                "italic": c == "_" and at(i + 1) != "_",
                "code": c == "`",
                "pre": c == "`" and at(i + 1) == "`" and at(i + 2) == "`",
                "text_link": c == "]",
                "underline": c == "_" and at(i + 1) == "_",
                "strikethrough": c == "~",
                "spoiler": c == "|" and at(i + 1) == "|",
                "custom_emoji": c == "]",
            }[top]
        reserved_msg = f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
        if not is_end:
            begin = i
            argument = ""
            if c == "_":
                if at(i + 1) == "_":
                    etype, i = "underline", i + 1
                else:
                    etype = "italic"
            elif c == "*":
                etype = "bold"
            elif c == "~":
                etype = "strikethrough"
            elif c == "|":
                if at(i + 1) != "|":
                    raise ParseError(reserved_msg)
                etype, i = "spoiler", i + 1
            elif c == "[":
                etype = "text_link"
            elif c == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    etype = "pre"
                    i += 3
                    lang_end = i
                    while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                        lang_end += 1
                    if i != lang_end and lang_end < n and text[lang_end] != "`":
                        argument = text[i:lang_end]
                        i = lang_end
                    if at(i) in ("\n", "\r"):
                        if at(i + 1) in ("\n", "\r") and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    etype = "code"
            elif c == "!" and at(i + 1) == "[":
                etype, i = "custom_emoji", i + 1
            else:
                raise ParseError(reserved_msg)
            stack.append((etype, argument, utf16, begin, len(out)))
            i += 1
            continue
        etype, argument, offset, begin, out_index = stack.pop()
        ent: Entity = {"type": etype, "offset": offset, "length": utf16 - offset}
        if etype in ("underline", "spoiler"):
            i += 1
        elif etype == "pre":
            i += 2
            if argument:
                ent["language"] = argument
        elif etype in ("text_link", "custom_emoji"):
            url_chars: list[str] = []
            if at(i + 1) != "(":
                url_chars.append("".join(out[out_index:]))
            else:
                i += 2
                url_begin = i
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise ParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
            url = "".join(url_chars)
            if etype == "custom_emoji":
                ent["custom_emoji_id"] = url.removeprefix("tg://emoji?id=")
            else:
                ent["url"] = url
        i += 1
        if ent["length"] > 0:
            entities.append(ent)
    if stack:
        etype, _, _, begin, _ = stack[-1]
        raise ParseError(
            f"Can't find end of {_MDV2_TYPE_NAMES[etype]} entity at byte offset "
            f"{_byte_offset(text, begin)}"
        )
    if quote_start is not None and utf16 > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start}
        )
    return "".join(out), sort_entities(entities)


def parse_markdown_legacy(text: str) -> tuple[str, list[Entity]]:
    """Legacy ``Markdown``: *bold* _italic_ `code` ```pre``` [text](url)."""
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c not in "_*`[":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue
        begin_b = _byte_offset(text, i)
        err = ParseError(f"Can't find end of the entity starting at byte offset {begin_b}")
        if c == "`" and text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise err
            inner = text[i + 3 : end]
            lang = ""
            if (
                "\n" in inner
                and inner.split("\n", 1)[0].strip()
                and " " not in inner.split("\n")[0]
            ):
                lang, inner = inner.split("\n", 1)
            etype, inner_text, i = "pre", inner, end + 3
        elif c == "[":
            close = text.find("]", i + 1)
            if close < 0 or not text.startswith("(", close + 1):
                raise err
            url_end = text.find(")", close + 2)
            if url_end < 0:
                raise err
            inner_text = text[i + 1 : close]
            lang = text[close + 2 : url_end]
            etype, i = "text_link", url_end + 1
        else:
            end = text.find(c, i + 1)
            if end < 0:
                raise err
            inner_text = text[i + 1 : end]
            etype = {"*": "bold", "_": "italic", "`": "code"}[c]
            lang, i = "", end + 1
        length = utf16_len(inner_text)
        if length:
            ent: Entity = {"type": etype, "offset": utf16, "length": length}
            if etype == "text_link":
                ent["url"] = lang
            elif etype == "pre" and lang:
                ent["language"] = lang
            entities.append(ent)
        out.append(inner_text)
        utf16 += length
    return "".join(out), sort_entities(entities)
