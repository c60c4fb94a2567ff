"""The one place that tolerates a Markdown converter library failing (telegramify-markdown
for entities, markdown-it-py for rich messages): their code raises whatever a bug of theirs
raises for some input, and an answer must never be lost to that. The caller names what to
show instead: the same text, plain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def converted(convert: Callable[[], T], *, plain: Callable[[], T], what: str) -> T:
    """``convert()``, or ``plain()`` (logged) when the converter library under it fails."""
    try:
        return convert()
    except Exception:  # a converter library raises anything; "never raise": plain text
        logger.exception("%s failed; sending plain text", what)
        return plain()
