"""How tools show in Telegram: a progress line in the draft or preview while they run
("🔎 searching: …", "📄 reading example.com"), and the numbered sources under the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiogram.utils.i18n import gettext as _

from app.llm import ToolStarted
from app.llm.tools import Source

MAX_ARGUMENT_CHARS = 80
_CITATION = re.compile(r"\[(\d{1,3})\]")


def _short(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= MAX_ARGUMENT_CHARS else text[: MAX_ARGUMENT_CHARS - 1] + "…"


def progress_line(event: ToolStarted) -> str:
    args = event.arguments
    if event.name == "web_search":
        return _("🔎 searching: {query}").format(query=_short(args.get("query")))
    if event.name == "read_url":
        url = str(args.get("url") or "")
        host = urlsplit(url).hostname or url
        return _("📄 reading {host}").format(host=_short(host))
    server, sep, tool = event.name.partition("__")
    if sep:
        return _("🛠 {tool} ({server})").format(tool=tool, server=server)
    return _("🛠 {tool}").format(tool=event.name)


def _escape(text: str) -> str:
    return re.sub(r"([\[\]()*_`\\])", r"\\\1", text)


def sources_block(answer: str, sources: Sequence[Source]) -> str:
    """Markdown for the sources the answer cites by number ([n]), each a link; all of
    them when it cites none."""
    cited = {int(n) for n in _CITATION.findall(answer)}
    numbered = list(enumerate(sources, 1))
    shown = [(n, s) for n, s in numbered if n in cited] or numbered
    lines = [f"\\[{n}\\] [{_escape(s.title or s.url)}]({s.url})" for n, s in shown]
    return _("Sources:") + "\n" + "\n".join(lines)
