"""Entities as the Bot API carries them: UTF-16 offsets, checks, trimming, auto-detection.

Shared by the parsers (:mod:`.html_parser`, :mod:`.markdown`) and the method handlers.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

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
# Telegram trims the whole message text; tdlib treats these as trimmable whitespace.
_TRIM_CHARS = " \t\r\n\x0b\x0c"


class ParseError(ValueError):
    """A formatting error; ``str(err)`` is tdlib's message without the Bot API prefix."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


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
