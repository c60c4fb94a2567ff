"""Warming up before the first user: litellm and the process server documents are read in.
Apart from ``llmdoor.runtime`` because it starts media's readers, and media itself needs
the runtime."""

from __future__ import annotations

import contextlib

from llmdoor.runtime import warm_litellm


def warm_up(model: str = "openai/gpt-4o-mini") -> None:
    """Import litellm now (e.g. from a background thread right after the bot starts).

    Beyond the import, litellm loads the model map, the model's tokenizer and a good part
    of its request path lazily on the first call (~250 ms, measured); an offline mock
    completion pays for that here instead of on the first user's message. The process
    server documents are read from is started too (seconds under load, otherwise paid by
    the first document)."""
    from llmdoor.media.isolation import start_readers

    with contextlib.suppress(OSError, ValueError):  # best effort: a document would retry
        start_readers()
    warm_litellm(model)
