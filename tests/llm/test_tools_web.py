"""The built-in tools over real HTTP on 127.0.0.1: read_url's fetcher refuses private,
loopback, link-local and metadata addresses (also behind a redirect) unless the host is
allowed by name, caps size, time and redirects; the main text is extracted and cut; and
web_search asks SearXNG, Tavily or Brave, and is not offered unconfigured."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr

from app.llm import ensure_loaded
from app.llm.tools import ToolOutput
from app.llm.tools.fetch import FetchRefused, check_url, fetch, is_public
from app.llm.tools.settings import ToolSettings, tool_settings_problems
from app.llm.tools.web import builtin_tools, read_url_tool, web_search_tool
from tests.fakes.web_server import ARTICLE_TEXT, FakeWeb


@pytest_asyncio.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with FakeWeb() as server:
        yield server


def test_address_classes() -> None:
    for private in (
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.5",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ):
        assert not is_public(private), private
    assert is_public("93.184.215.14") and is_public("2606:4700::1111")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.7/admin",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "http:///nohost",
    ],
)
def test_urls_refused_before_any_connection(url: str) -> None:
    with pytest.raises(FetchRefused):
        check_url(url, frozenset())


async def test_names_are_checked_after_resolution(web: FakeWeb) -> None:
    # "localhost" is a name: it passes the literal check and is refused once resolved.
    with pytest.raises(FetchRefused, match="private or local"):
        await fetch(web.url("/article", host="localhost"))
    assert web.hits == []


async def test_allowed_hosts_by_name_and_port(web: FakeWeb) -> None:
    allow = frozenset({f"127.0.0.1:{web.port}"})
    page = await fetch(web.url("/article"), allow_hosts=allow)
    assert page.status == 200 and b"Lindesnes" in page.body
    with pytest.raises(FetchRefused):  # another port of the same host is not allowed
        await fetch(f"http://127.0.0.1:{web.port + 1}/", allow_hosts=allow)


async def test_every_redirect_is_checked(web: FakeWeb) -> None:
    allow = frozenset({f"localhost:{web.port}"})  # as written: not 127.0.0.1
    with pytest.raises(FetchRefused, match=re.escape("127.0.0.1")):
        await fetch(web.url("/to-secret", host="localhost"), allow_hosts=allow)
    with pytest.raises(FetchRefused, match=re.escape("169.254.169.254")):
        await fetch(web.url("/to-metadata", host="localhost"), allow_hosts=allow)
    assert "/secret" not in web.hits
    page = await fetch(web.url("/to-article", host="localhost"), allow_hosts=allow)
    assert page.url.endswith("/article") and page.status == 200
    with pytest.raises(FetchRefused, match="redirects"):
        await fetch(web.url("/loop", host="localhost"), allow_hosts=allow, max_redirects=3)


async def test_size_and_time_are_capped(web: FakeWeb) -> None:
    allow = frozenset({f"127.0.0.1:{web.port}"})
    page = await fetch(web.url("/huge"), allow_hosts=allow, max_bytes=10_000)
    assert page.truncated and len(page.body) == 10_000
    with pytest.raises(TimeoutError):
        await fetch(web.url("/slow"), allow_hosts=allow, timeout=0.3)


async def test_read_url_extracts_the_main_text(web: FakeWeb) -> None:
    await ensure_loaded()
    settings = ToolSettings(fetch_allow_hosts=f"127.0.0.1:{web.port}", read_url_limit=100)
    tool = read_url_tool(settings)
    assert tool is not None
    out = await tool.run({"url": web.url("/article")})
    assert isinstance(out, ToolOutput)
    assert ARTICLE_TEXT[:60] in out.content
    assert "Cookie settings" not in out.content and "All rights reserved" not in out.content
    assert out.sources[0].title == "Lindesnes lighthouse"
    assert out.sources[0].url == web.url("/article")
    long = await tool.run({"url": web.url("/huge")})
    assert long.content.endswith("this is its beginning]") and len(long.content) < 1500
    with pytest.raises(FetchRefused, match="not a web page"):
        await tool.run({"url": web.url("/binary")})
    refused = read_url_tool(ToolSettings())
    assert refused is not None
    with pytest.raises(FetchRefused, match="refused"):
        await refused.run({"url": web.url("/article")})


@pytest.mark.parametrize("backend", ["searxng", "tavily", "brave"])
async def test_web_search_backends(web: FakeWeb, backend: str) -> None:
    web.results["lighthouse"] = [
        ("Lindesnes", "https://lighthouse.example/lindesnes", "The oldest light"),
        ("Ryvingen", "https://lighthouse.example/ryvingen", ""),
    ]
    settings = ToolSettings(
        search_backend=backend,
        searxng_url=web.searxng_url,
        tavily_api_key=SecretStr("tvly-secret-key"),
        brave_api_key=SecretStr("brave-secret-key"),
        tavily_url=web.url("/tavily/search"),
        brave_url=web.url("/brave/search"),
        search_results=1,
    )
    tool = web_search_tool(settings)
    assert tool is not None and tool.name == "web_search"
    out = await tool.run({"query": "lighthouse"})
    assert [(s.title, s.url) for s in out.sources] == [
        ("Lindesnes", "https://lighthouse.example/lindesnes")
    ]
    assert out.sources[0].snippet == "The oldest light"
    assert web.searches == ["lighthouse"]
    headers = web.search_headers[-1]
    if backend == "tavily":
        assert headers["Authorization"] == "Bearer tvly-secret-key"
    if backend == "brave":
        assert headers["X-Subscription-Token"] == "brave-secret-key"
    nothing = await tool.run({"query": "nothing at all"})
    assert nothing.content == "No results." and not nothing.sources


def test_search_is_not_offered_unconfigured() -> None:
    assert [t.name for t in builtin_tools(ToolSettings())] == ["read_url"]
    assert builtin_tools(ToolSettings(read_url=False)) == []
    half = ToolSettings(search_backend="tavily")  # no key
    assert web_search_tool(half) is None
    assert tool_settings_problems(half) == ["TOOLS_SEARCH_BACKEND=tavily needs TAVILY_API_KEY."]
    assert tool_settings_problems(ToolSettings(search_backend="searxng")) == [
        "TOOLS_SEARCH_BACKEND=searxng needs TOOLS_SEARXNG_URL."
    ]


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOLS_SEARCH_BACKEND", "Brave")
    monkeypatch.setenv("BRAVE_API_KEY", "k-123456")
    monkeypatch.setenv("TOOLS_FETCH_ALLOW_HOSTS", "intranet.local, wiki:8080")
    monkeypatch.setenv("MCP_SERVERS_FILE", "/nonexistent/mcp.json")
    settings = ToolSettings()
    assert settings.search_backend == "brave"
    assert settings.brave_api_key is not None
    assert settings.allowed_hosts == frozenset({"intranet.local", "wiki:8080"})
    assert "k-123456" not in repr(settings)
    problems = tool_settings_problems(settings)
    assert len(problems) == 1 and "MCP_SERVERS_FILE" in problems[0] and "cannot read" in problems[0]
