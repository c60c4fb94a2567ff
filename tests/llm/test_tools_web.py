"""The built-in tools over real HTTP on 127.0.0.1: read_url's fetcher refuses private,
loopback, link-local and metadata addresses (also behind a redirect) unless the host is
allowed by name, caps size, time and redirects; the main text is extracted and cut; and
web_search asks SearXNG, Tavily or Brave, and is not offered unconfigured."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import SecretStr

from llmdoor import ensure_loaded
from llmdoor.tools import ToolOutput
from llmdoor.tools import fetch as fetch_module
from llmdoor.tools.fetch import (
    FetchRefused,
    check_url,
    fetch,
    is_allowed,
    is_public,
    legacy_ipv4,
)
from llmdoor.tools.settings import ToolSettings, tool_settings_problems
from llmdoor.tools.web import builtin_tools, read_url_tool, web_search_tool
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


# ------------------------------------------------- address forms, DNS rebinding (no network)


class StubResolver(AbstractResolver):
    """DNS without the network: ``answers[name]`` is a list of (address, port) to give
    out, one per look-up (the last one repeats): a rebinding DNS server in a list."""

    def __init__(self, answers: dict[str, list[tuple[str, int]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError(f"stub: no answer for {host}")
        address, real_port = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            {
                "hostname": host,
                "host": address,
                "port": real_port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64: never public
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:80ff:fefe", False),  # Teredo, client 127.0.1.1
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::808:808", False),  # IPv4-compatible: refused whatever it carries
        ("::ffff:0:7f00:1", False),  # IPv4-translated 127.0.0.1
        ("::ffff:169.254.169.254", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_ipv6_with_an_ipv4_inside_is_judged_by_it(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    ("url", "means"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0X7F.0.0.1/", "127.0.0.1"),
        ("http://127.000.000.001/", "127.0.0.1"),
        ("http://2852039166/latest/meta-data/", "169.254.169.254"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
        ("http://134744072/", "8.8.8.8"),  # even a public one: not in the usual form
    ],
)
def test_unusual_ipv4_forms_refused_by_our_own_check(url: str, means: str) -> None:
    host = url.split("/")[2]
    assert str(legacy_ipv4(host.lower())) == means
    with pytest.raises(FetchRefused, match="unusual form"):
        check_url(url, frozenset())


def test_names_are_not_taken_for_addresses() -> None:
    for name in ("example.com", "08.0.0.1", "1.2.3.4.5", "127.0.0.1", "256.1.1.1", "a1", "1e9"):
        assert legacy_ipv4(name) is None, name
    check_url("http://example.com/", frozenset())  # a name: judged after resolution


async def test_unusual_forms_never_reach_the_resolver() -> None:
    stub = StubResolver({"2130706433": [("127.0.0.1", 9)]})
    for url in ("http://2130706433/", "http://0x7f000001/", "http://127.1/"):
        with pytest.raises(FetchRefused):
            await fetch(url, resolver=stub)
    assert stub.lookups == []


async def test_a_redirect_to_a_name_of_a_private_address_is_refused(web: FakeWeb) -> None:
    stub = StubResolver({"intranet.test": [("127.0.0.1", web.port)]})
    allow = frozenset({f"127.0.0.1:{web.port}"})
    target = f"http://intranet.test:{web.port}/secret"
    with pytest.raises(
        FetchRefused, match=re.escape("intranet.test is a private or local address")
    ):
        await fetch(web.url(f"/redirect?to={target}"), allow_hosts=allow, resolver=stub)
    assert stub.lookups == ["intranet.test"]
    assert web.hits == ["/redirect"] and "/secret" not in web.hits


async def test_the_connection_goes_to_the_address_that_was_checked(
    web: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebinding DNS server: the first answer is judged (here 127.0.0.1 stands in for a
    # public address), later answers point elsewhere. The page must come from the first.
    async with FakeWeb() as other:
        judged: list[str] = []

        def pretend_public(address: str) -> bool:
            judged.append(address)
            return address == "127.0.0.1"

        monkeypatch.setattr(fetch_module, "is_public", pretend_public)
        stub = StubResolver({"rebind.test": [("127.0.0.1", web.port), ("127.0.0.1", other.port)]})
        page = await fetch(f"http://rebind.test:{web.port}/article", resolver=stub)
        assert page.status == 200 and b"Lindesnes" in page.body
        assert web.hits == ["/article"] and other.hits == []
        assert stub.lookups == ["rebind.test"] and judged == ["127.0.0.1"]

        # And the other way round: the first answer is private, so nothing is fetched,
        # whatever a second look-up would have said.
        monkeypatch.setattr(fetch_module, "is_public", lambda address: False)
        stub = StubResolver({"rebind.test": [("127.0.0.1", web.port)]})
        with pytest.raises(FetchRefused, match=re.escape("rebind.test")):
            await fetch(f"http://rebind.test:{web.port}/article", resolver=stub)
        assert web.hits == ["/article"] and stub.lookups == ["rebind.test"]


@pytest.mark.parametrize(
    ("entry", "url", "allowed"),
    [
        ("127.0.0.1:80", "http://127.0.0.1/", True),  # the default port, written out
        ("127.0.0.1:80", "http://127.0.0.1:80/x", True),
        ("127.0.0.1:80", "https://127.0.0.1/", False),  # 443
        ("127.0.0.1:443", "https://127.0.0.1/", True),
        ("127.0.0.1", "http://127.0.0.1:8080/", True),  # no port: any port
        ("http://127.0.0.1/", "http://127.0.0.1/", True),  # written as a URL
        ("http://127.0.0.1/", "http://127.0.0.1:8080/", False),
        ("[::1]:8080", "http://[::1]:8080/", True),
        ("[::1]:8080", "http://[::1]:8081/", False),
        ("[::1]", "http://[::1]:9/", True),
        ("::1", "http://[::1]:9/", True),  # a bare IPv6 address: any port
        ("[0:0::1]:8080", "http://[::1]:8080/", True),  # the same address, spelt longer
        ("Wiki.LAN:8080", "http://wiki.lan.:8080/", True),
        ("wiki.lan:8080", "http://wiki.lan/", False),
        ("wiki.lan:x", "http://wiki.lan/", False),  # a broken entry allows nothing
    ],
)
def test_allowed_hosts_as_written(entry: str, url: str, allowed: bool) -> None:
    allow = frozenset({entry.lower()})
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}[parts.scheme]
    assert is_allowed(parts.hostname or "", port, allow) is allowed
    if allowed:
        check_url(url, allow)  # not refused, though the address is local
    elif parts.hostname and not parts.hostname.startswith("wiki"):
        with pytest.raises(FetchRefused):
            check_url(url, allow)
