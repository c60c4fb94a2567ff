"""Tool progress lines and the sources block: the model's arguments, tool names and the
sources' URLs are hostile input, so rendering them is total and links are http(s) only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.utils.i18n import I18n

from app.bot.chat.tool_progress import MAX_ARGUMENT_CHARS, progress_line, sources_block
from llmdoor import ToolStarted
from llmdoor.tools import Source

LOCALES = Path(__file__).resolve().parents[2] / "locales"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
    with i18n.context(), i18n.use_locale("en"):
        yield


def line(name: str, arguments: Any) -> str:
    return progress_line(ToolStarted("call_1", name, arguments))


def test_ordinary_progress_lines() -> None:
    assert line("web_search", {"query": "weather in Oslo"}) == "🔎 searching: weather in Oslo"
    assert line("read_url", {"url": "https://example.com/a?b"}) == "📄 reading example.com"
    assert line("demo__shout", {}) == "🛠 shout (demo)"
    assert line("calculator", {}) == "🛠 calculator"


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://[not-an-address]/", "http://[::1]x/", "http://ex\x00ample.com/"],
)
def test_a_url_that_does_not_parse_shows_raw_and_clipped(url: str) -> None:
    shown = line("read_url", {"url": url})
    assert shown.startswith("📄 reading ")
    long = line("read_url", {"url": url + "a" * 500})
    assert len(long) <= len("📄 reading ") + MAX_ARGUMENT_CHARS


@pytest.mark.parametrize(
    "arguments",
    [
        {"url": ["http://[::1"]},
        {"url": {"nested": True}},
        {"url": 12},
        {"query": None},
        {"query": {"a": "b" * 1000}},
        {},
    ],
)
def test_any_argument_shape_renders(arguments: dict[str, Any]) -> None:
    for name in ("web_search", "read_url"):
        assert len(line(name, arguments)) < 120


def test_made_up_tool_names_are_clipped() -> None:
    assert len(line("x" * 500 + "__" + "y" * 500, {})) < 2 * MAX_ARGUMENT_CHARS + 10
    assert len(line("z" * 5000, {})) < MAX_ARGUMENT_CHARS + 10


def test_sources_link_only_http_urls() -> None:
    sources = [
        Source("Good", "https://example.com/page"),
        Source("Evil", "javascript:alert(1)"),
        Source("Bot", "tg://user?id=1"),
        Source("Broken", "http://[::1"),
        Source("Wiki", "https://en.wikipedia.org/wiki/Foo_(bar) x"),
    ]
    block = sources_block("no citations", sources)
    lines = block.splitlines()
    assert lines[1] == "\\[1\\] [Good](https://example.com/page)"
    assert lines[2] == "\\[2\\] Evil" and lines[3] == "\\[3\\] Bot" and lines[4] == "\\[4\\] Broken"
    assert lines[5] == "\\[5\\] [Wiki](https://en.wikipedia.org/wiki/Foo_%28bar%29%20x)"
    assert "javascript:" not in block and "tg://" not in block
