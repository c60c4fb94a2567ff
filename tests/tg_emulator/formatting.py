"""Telegram text formatting, reimplemented after tdlib's parsers (MessageEntity.cpp).

Each parser turns a formatted string into ``(plain_text, entities)`` exactly as a Telegram
client would display it, or raises :class:`ParseError` with tdlib's wording, which the
server prefixes with ``Bad Request: can't parse entities:``. Offsets and lengths are in
UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

# Entity types the Bot API accepts in an `entities` array.
KNOWN_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Telegram trims the whole message text; tdlib treats these as trimmable whitespace.
_TRIM_CHARS = " \t\r\n\x0b\x0c"


class ParseError(ValueError):
    """A formatting error; ``str(err)`` is tdlib's message without the Bot API prefix."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``text[i]``; return (char, next index) or None like tdlib."""
    j = i + 1
    if j < len(text) and text[j] == "#":
        j += 1
        base = 10
        if j < len(text) and text[j] in "xX":
            base, j = 16, j + 1
        start = j
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        while j < len(text) and text[j] in digits:
            j += 1
        if start == j or j >= len(text) or text[j] != ";":
            return None
        code = int(text[start:j], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), j + 1
    start = j
    while j < len(text) and text[j].isascii() and text[j].isalpha():
        j += 1
    if j >= len(text) or text[j] != ";":
        return None
    ch = _NAMED_ENTITIES.get(text[start:j])
    return (ch, j + 1) if ch else None


def parse_html(text: str, *, strict_ampersand: bool = False) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML. Bare ``&`` is literal in Telegram; ``strict_ampersand`` rejects it."""
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    # stack of (tag_name, utf16_offset, argument, expandable)
    stack: list[tuple[str, int, str, bool]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                ch, i = decoded
                out.append(ch)
                utf16 += utf16_len(ch)
                continue
            if strict_ampersand:
                raise ParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)} (emulator strict mode)'
                )
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue
        begin = i
        begin_b = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] != "/":
            # start tag
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise ParseError(f"Unclosed start tag at byte offset {begin_b}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise ParseError(f'Unsupported start tag "{tag}" at byte offset {begin_b}')
            argument = ""
            expandable = False
            while i < n and text[i] != ">":
                while i < n and text[i].isspace():
                    i += 1
                if i < n and text[i] == ">":
                    break
                attr_begin = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                attr = text[attr_begin:i]
                if not attr:
                    raise ParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin_b}'
                    )
                while i < n and text[i].isspace():
                    i += 1
                if i >= n or text[i] != "=":
                    if tag == "blockquote" and attr.lower() == "expandable":
                        expandable = True
                        continue
                    raise ParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin_b}'
                    )
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise ParseError(f"Unclosed start tag at byte offset {begin_b}")
                if text[i] not in "'\"":
                    tok_begin = i
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[tok_begin:i].lower()
                    if i >= n or (not text[i].isspace() and text[i] != ">"):
                        raise ParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, tok_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise ParseError(f"Unclosed start tag at byte offset {begin_b}")
                attr = attr.lower()
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise ParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin_b}'
                )
            stack.append((tag, utf16, argument, expandable))
            i += 1  # skip '>'
            continue
        # end tag
        if not stack:
            raise ParseError(f"Unexpected end tag at byte offset {begin_b}")
        i += 1 if i < n else 0
        name_begin = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        end_name = text[name_begin:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != ">":
            raise ParseError(f"Unclosed end tag at byte offset {begin_b}")
        i += 1
        tag, offset, argument, expandable = stack.pop()
        if end_name and end_name != tag:
            raise ParseError(
                f'Unmatched end tag at byte offset {begin_b}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = utf16 - offset
        if length <= 0:
            continue
        etype = _HTML_TYPE.get(tag, "")
        ent: Entity = {"type": etype, "offset": offset, "length": length}
        if tag == "a":
            if not argument:
                continue
            ent["type"] = "text_link"
            ent["url"] = argument
        elif tag == "code" and argument:
            ent["language"] = argument  # temporary, merged into an enclosing <pre>
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last["type"] == "code"
                and last["offset"] == offset
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                continue
        elif tag == "blockquote" and expandable:
            ent["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            ent["custom_emoji_id"] = argument
        entities.append(ent)
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for ent in entities:
        if ent["type"] == "code":
            ent.pop("language", None)
    return "".join(out), drop_nested_in_code(sort_entities(entities))


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


def sort_entities(entities: list[Entity]) -> list[Entity]:
    # Telegram returns entities ordered by offset, longer (outer) first.
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def drop_nested_in_code(entities: list[Entity]) -> list[Entity]:
    """Telegram removes entities inside ``code``/``pre`` (they can't contain formatting)."""
    containers = [e for e in entities if e["type"] in ("code", "pre")]
    kept = []
    for ent in entities:
        inside = any(
            c is not ent
            and c["offset"] <= ent["offset"]
            and ent["offset"] + ent["length"] <= c["offset"] + c["length"]
            for c in containers
        )
        if not inside:
            kept.append(ent)
    return kept


def validate_entities(text: str, entities: Any) -> list[Entity]:
    """Check a client-supplied ``entities`` array; return a normalised copy."""
    if not isinstance(entities, list):
        raise ParseError('Field "entities" must be an Array')
    total = utf16_len(text)
    result: list[Entity] = []
    for raw in entities:
        if not isinstance(raw, dict):
            raise ParseError("expected an Object as entity")
        etype = raw.get("type")
        if not etype:
            raise ParseError("Type is not specified")
        if etype not in KNOWN_ENTITY_TYPES:
            raise ParseError("Unsupported type specified")
        offset, length = raw.get("offset"), raw.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise ParseError('Field "offset"/"length" must be of type Number')
        if offset < 0 or length <= 0 or offset + length > total:
            # Telegram clips silently in some versions; the emulator is strict on purpose,
            # because an out-of-range entity always means a UTF-16 offset bug in the bot.
            raise ParseError(
                f"entity {etype} offset={offset} length={length} is beyond the end of text "
                f"(UTF-16 length {total})"
            )
        if etype == "text_link" and not raw.get("url"):
            raise ParseError('Field "url" must be of type String')
        if etype == "custom_emoji" and not raw.get("custom_emoji_id"):
            raise ParseError('Field "custom_emoji_id" must be of type String')
        result.append({k: v for k, v in raw.items() if v is not None})
    return sort_entities(result)


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace like Telegram does, clipping entities."""
    stripped_left = text.lstrip(_TRIM_CHARS)
    lead = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIM_CHARS)
    total = utf16_len(result)
    fixed: list[Entity] = []
    for ent in entities:
        start = max(0, ent["offset"] - lead)
        end = min(total, ent["offset"] + ent["length"] - lead)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    return result, fixed


def entity_text(text: str, entity: Entity) -> str:
    """The substring an entity covers (offsets are UTF-16)."""
    raw = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return raw[start : start + entity["length"] * 2].decode("utf-16-le")


_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z][A-Za-z0-9_]{3,31})?\b")


def auto_entities(text: str) -> list[Entity]:
    """Entities a Telegram client adds to user text: bot commands and @mentions."""
    found: list[Entity] = []
    for regex, etype in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention")):
        for m in regex.finditer(text):
            found.append(
                {
                    "type": etype,
                    "offset": utf16_len(text[: m.start()]),
                    "length": utf16_len(m.group()),
                }
            )
    return sort_entities(found)
