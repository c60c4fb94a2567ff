"""Telegram text formatting, reimplemented after tdlib's parsers (MessageEntity.cpp).

Each parser turns a formatted string into ``(plain_text, entities)`` exactly as a Telegram
client would display it, or raises :class:`ParseError` with tdlib's wording, which the
method handlers prefix with ``Bad Request: can't parse entities:``. Offsets and lengths are
in UTF-16 code units, as in the Bot API.
"""

from .entities import (
    KNOWN_ENTITY_TYPES,
    Entity,
    ParseError,
    auto_entities,
    drop_nested_in_code,
    entity_text,
    sort_entities,
    trim,
    utf16_len,
    validate_entities,
)
from .html_parser import parse_html
from .markdown import parse_markdown_legacy, parse_markdown_v2

__all__ = [
    "KNOWN_ENTITY_TYPES",
    "Entity",
    "ParseError",
    "auto_entities",
    "drop_nested_in_code",
    "entity_text",
    "parse_html",
    "parse_markdown_legacy",
    "parse_markdown_v2",
    "sort_entities",
    "trim",
    "utf16_len",
    "validate_entities",
]
