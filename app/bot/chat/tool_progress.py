"""How tools show in Telegram: a progress line in the draft or preview while they run
("🔎 searching: …", "📄 reading example.com"), and the numbered sources under the answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from aiogram.utils.i18n import gettext as _

from llmdoor import Source, ToolStarted

MAX_ARGUMENT_CHARS = 80
_CITATION = re.compile(r"\[(\d{1,3})\]")


def _short(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= MAX_ARGUMENT_CHARS else text[: MAX_ARGUMENT_CHARS - 1] + "…"


def _host(url: str) -> str:
    """The host of a URL the model wrote, or the raw text when it does not parse (a
    model's arguments are hostile input: ``http://[::1`` makes urlsplit raise)."""
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def progress_line(event: ToolStarted) -> str:
    """The line a running tool shows; total: whatever the model sent as arguments (or as
    a tool name), it returns a short line and never raises."""
    args = event.arguments if isinstance(event.arguments, dict) else {}
    name = str(event.name)
    if name == "web_search":
        return _("🔎 searching: {query}").format(query=_short(args.get("query")))
    if name == "read_url":
        return _("📄 reading {host}").format(host=_short(_host(str(args.get("url") or ""))))
    server, sep, tool = name.partition("__")
    if sep:
        return _("🛠 {tool} ({server})").format(tool=_short(tool), server=_short(server))
    return _("🛠 {tool}").format(tool=_short(name))


def _escape(text: str) -> str:
    return re.sub(r"([\[\]()*_`\\])", r"\\\1", text)


def _is_web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _source_line(n: int, source: Source) -> str:
    """A numbered link; a source whose URL is not http(s) (``javascript:``, ``tg:``, a
    broken one) keeps its number as plain text without a link."""
    label = _escape(source.title or source.url)
    if _is_web(source.url):
        target = re.sub(r"[\s()<>]", lambda m: quote(m.group()), source.url)
        return f"\\[{n}\\] [{label}]({target})"
    return f"\\[{n}\\] {label}"


def sources_block(answer: str, sources: Sequence[Source]) -> str:
    """Markdown for the sources the answer cites by number ([n]), each a link; all of
    them when it cites none."""
    cited = {int(n) for n in _CITATION.findall(answer)}
    numbered = list(enumerate(sources, 1))
    shown = [(n, s) for n, s in numbered if n in cited] or numbered
    lines = [_source_line(n, s) for n, s in shown]
    return _("Sources:") + "\n" + "\n".join(lines)
