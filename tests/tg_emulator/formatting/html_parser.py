"""Telegram HTML (``parse_mode=HTML``), parsed after tdlib's MessageEntity.cpp."""

from __future__ import annotations

from .entities import Entity, ParseError, drop_nested_in_code, sort_entities, utf16_len
from .entities import byte_offset as _byte_offset

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
