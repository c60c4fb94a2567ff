"""Search words: how titles, messages and queries become the word sets that conversation
search matches, the same on every backend (MongoDB stores the sets; memory keeps them)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
#: Longer "words" are base64, hashes or URLs: nobody searches for them, and they bloat the sets.
MAX_WORD_CHARS = 40


def normalise_word(word: str) -> str:
    # casefold: "Straße" finds "STRASSE"; ё/е are one letter for Russian readers.
    return word.casefold().replace("ё", "е")


def words_of(text: str) -> set[str]:
    """The distinct searchable words of ``text``."""
    return {normalise_word(w) for w in _WORD.findall(text) if len(w) <= MAX_WORD_CHARS}


def words_of_all(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        found |= words_of(text)
    return found


def query_words(query: str, limit: int = 8) -> list[str]:
    """The words a search asks for (each must occur), in order, at most ``limit``."""
    seen: list[str] = []
    for w in _WORD.findall(query):
        norm = normalise_word(w)
        if norm not in seen and len(norm) <= MAX_WORD_CHARS:
            seen.append(norm)
    return seen[:limit]
