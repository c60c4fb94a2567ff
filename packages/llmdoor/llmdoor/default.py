"""The process-wide default provider the module-level query_* functions use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmdoor.provider import LLMProvider

_lock = threading.Lock()
_default: LLMProvider | None = None


def get_default_provider() -> LLMProvider:
    """Built from env (LLM_*, ACCESS_*) on first use, unless one was installed."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                from llmdoor.provider import LLMProvider

                _default = LLMProvider.from_env()
    return _default


def set_default_provider(provider: LLMProvider | None) -> None:
    """Install the bot's provider (with its sink and policies); None rebuilds from env."""
    global _default
    with _lock:
        _default = provider
