"""Text shown in the bot's own interface (titles), kept free of invisible characters."""

from __future__ import annotations

import unicodedata

# Control characters that are whitespace: they become a space, not nothing.
_SPACES = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")


def visible(text: str) -> str:
    """``text`` without control and format characters (Unicode Cc and Cf: bidi overrides
    and isolates such as U+202E and U+2066-U+2069, zero-width spaces and joiners, the BOM),
    so a title can neither reorder nor hide the interface around it. Whitespace controls
    become spaces."""
    out = []
    for ch in text:
        if ch in _SPACES:
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf"):
            out.append(ch)
    return "".join(out)
