"""The language of a transcript as an ISO 639-1 code ("en", "ru").

Whisper names the language it heard ("english"); the gpt-4o transcribers say nothing.
``normalize`` turns a vendor's name into a code (Babel's English language names), and
``guess`` reads the language off the text with py3langid (a naive Bayes model shipped in
the package, run offline on numpy). py3langid is imported lazily and its model is loaded
once, on first use (about 1.5 s): call ``guess`` from a worker thread.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

# Shorter texts ("ok", "Да") are guessed wrong more often than right.
MIN_LETTERS = 10
# py3langid's normalized probability of its best language; below it: no guess.
MIN_CONFIDENCE = 0.25

_LOCK = threading.Lock()
_identifier: Any = None


@cache
def _codes_by_name() -> dict[str, str]:
    from babel import Locale

    names = Locale("en").languages
    return {name.lower(): code for code, name in names.items() if "_" not in code}


def normalize(vendor: str | None) -> str | None:
    """ "english" -> "en"; a code stays a code; a name Babel does not know stays as given."""
    if not vendor:
        return None
    value = vendor.strip().lower().replace("_", "-")
    if not value:
        return None
    if len(value) <= 3 or (len(value) <= 8 and "-" in value):
        return value.split("-", 1)[0]  # "en", "en-US", "yue"
    return _codes_by_name().get(value, value)


def _load() -> Any:
    global _identifier
    with _LOCK:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(
                MODEL_FILE, norm_probs=True, min_confidence=MIN_CONFIDENCE
            )
        return _identifier


def guess(text: str) -> str | None:
    """The language of ``text``, or None when it is too short or the guess too unsure."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    code, _confidence = _load().classify(text)
    return None if code in ("und", "zxx") else str(code)
