"""The URL guard judges the host the HTTP client will connect to, not the host as written:
ideographic, fullwidth and halfwidth dots and fullwidth digits mean 127.0.0.1 to aiohttp
(yarl applies NFKC and IDNA), so they are refused like 127.0.0.1, on the first hop and
behind a redirect. And the socket factory judges the address every socket connects to,
so a broken pre-check still opens nothing private (metadata included) and sends nothing.

These fail on the old guard, which judged ``urlsplit().hostname`` ("127。0。0。1" is not
an IP literal, and aiohttp skips the resolver for the address it normalises it to)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio

from llmdoor import ensure_loaded
from llmdoor.tools import fetch as fetch_module
from llmdoor.tools.fetch import FetchRefused, check_url, fetch
from llmdoor.tools.settings import ToolSettings
from llmdoor.tools.web import read_url_tool
from tests.fakes.web_server import FakeWeb

# 127.0.0.1 as a user (or a model) may write it.
SPELLINGS = (
    "127\u30020\u30020\u30021",  # ideographic full stop 。
    "127\uff0e0\uff0e0\uff0e1",  # fullwidth full stop ．
    "127\uff610\uff610\uff611",  # halfwidth ideographic full stop ｡
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits １２７.０.０.１
    "\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11",  # both
)


@pytest_asyncio.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with FakeWeb() as server:
        yield server


@pytest.mark.parametrize("host", SPELLINGS)
def test_unicode_spellings_of_loopback_are_refused_before_any_connection(host: str) -> None:
    with pytest.raises(FetchRefused, match="private or local"):
        check_url(f"http://{host}:8080/", frozenset())


@pytest.mark.parametrize("host", SPELLINGS)
async def test_read_url_refuses_unicode_loopback(web: FakeWeb, host: str) -> None:
    await ensure_loaded()
    tool = read_url_tool(ToolSettings())
    assert tool is not None
    with pytest.raises(FetchRefused, match="refused"):
        await tool.run({"url": f"http://{host}:{web.port}/article"})
    assert web.hits == []


@asynccontextmanager
async def raw_redirect(location: str) -> AsyncIterator[int]:
    """A server on 127.0.0.1 that answers every request with a 302 whose Location header
    is sent as raw UTF-8 bytes, exactly as written (aiohttp's own server would encode it)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 302 Found\r\nLocation: "
            + location.encode()
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("host", SPELLINGS)
async def test_a_redirect_written_in_unicode_is_refused(web: FakeWeb, host: str) -> None:
    # The first hop is allowed (its port); the Location names the fake web's port, which
    # is not, in a Unicode spelling of 127.0.0.1.
    async with raw_redirect(f"http://{host}:{web.port}/secret") as port:
        allow = frozenset({f"127.0.0.1:{port}"})
        with pytest.raises(FetchRefused, match="private or local"):
            await fetch(f"http://127.0.0.1:{port}/start", allow_hosts=allow)
    assert web.hits == []


async def test_the_socket_is_judged_even_when_the_url_check_is_broken(
    web: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend the URL check let everything through: the connector's socket factory still
    # refuses a private peer, before connect(), so not even a SYN is sent.
    monkeypatch.setattr(fetch_module, "check_url", lambda url, allow: None)
    connects: list[object] = []
    real_socket = fetch_module.socket.socket

    class Watched(real_socket):  # type: ignore[misc, valid-type]
        def connect(self, address: object) -> None:
            connects.append(address)
            super().connect(address)

    monkeypatch.setattr(fetch_module.socket, "socket", Watched)
    for url in (
        f"http://127.0.0.1:{web.port}/article",
        f"http://127\u30020\u30020\u30021:{web.port}/article",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{web.port}/".replace("{web.port}", str(web.port)),
    ):
        with pytest.raises(FetchRefused, match="private or local"):
            await fetch(url)
    assert web.hits == [] and connects == []


async def test_an_allowed_literal_still_fetches(web: FakeWeb) -> None:
    # The socket factory passes what the allow list allows (by address and port).
    page = await fetch(web.url("/article"), allow_hosts=frozenset({f"127.0.0.1:{web.port}"}))
    assert page.status == 200 and web.hits == ["/article"]
