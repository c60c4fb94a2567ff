"""Fetching a URL on a model's behalf without opening a way into the bot's own network.

- Only http and https, on every hop.
- The address is checked after DNS resolution, inside the connector's resolver, so the
  connection goes to exactly the address that was checked (no second look-up a rebinding
  DNS server could answer differently). Anything but a global unicast address is refused:
  private, loopback, link-local (169.254.169.254 and other metadata endpoints), CGNAT,
  multicast, reserved, unspecified, and IPv4 mapped into IPv6.
- Redirects are followed by hand, each hop checked like the first.
- Size and time are capped; proxies from the environment are not used.
- ``allow_hosts`` (TOOLS_FETCH_ALLOW_HOSTS) lets named hosts through, matched on the host
  (or host:port) as written in the URL, never on the address it resolves to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Mozilla/5.0 (compatible; tg-llm-bot read_url)"


class FetchRefused(Exception):
    """The URL may not be fetched; the message is safe to show to the model and user."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    truncated: bool  # the size cap cut the body

    def text(self) -> str:
        charset = "utf-8"
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _host_key(host: str, port: int | None) -> tuple[str, str]:
    host = host.lower().rstrip(".")
    return host, f"{host}:{port}" if port is not None else host


class _GuardedResolver(AbstractResolver):
    """Resolves, then refuses any non-public address unless the host is allowed."""

    def __init__(self, allow: frozenset[str]) -> None:
        self._inner = DefaultResolver()
        self._allow = allow
        self.refused: str | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        name, with_port = _host_key(host, port)
        if name in self._allow or with_port in self._allow:
            return results
        for result in results:
            if not is_public(result["host"]):
                self.refused = host
                raise OSError(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str, allow: frozenset[str]) -> None:
    """The checks that need no DNS: scheme, host present, IP literals."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be read, not {parts.scheme or '?'}:")
    host = parts.hostname
    if not host:
        raise FetchRefused("the URL has no host")
    try:
        port = parts.port
    except ValueError:
        raise FetchRefused("the URL's port is not a number") from None
    name, with_port = _host_key(host, port)
    if name in allow or with_port in allow:
        return
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return  # a name: checked after resolution
    if not is_public(name):
        raise FetchRefused(f"{host} is a private or local address")


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


async def fetch(
    url: str,
    *,
    allow_hosts: frozenset[str] = frozenset(),
    max_bytes: int = 1_000_000,
    timeout: float = 15.0,  # noqa: ASYNC109 - the whole fetch, all hops included
    max_redirects: int = 5,
    headers: dict[str, str] | None = None,
) -> Page:
    """GET ``url`` under the rules in the module docstring; FetchRefused when a rule says
    no, ``aiohttp.ClientError`` / ``TimeoutError`` when the network fails."""
    resolver = _GuardedResolver(allow_hosts)
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, limit=4)
    request_headers: dict[str, Any] = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    request_headers.update(headers or {})
    async with (
        asyncio.timeout(timeout),
        aiohttp.ClientSession(connector=connector, trust_env=False) as session,
    ):
        current = url
        for _hop in range(max_redirects + 1):
            check_url(current, allow_hosts)
            try:
                response = await session.get(
                    current, allow_redirects=False, headers=request_headers
                )
            except aiohttp.ClientConnectorError:
                if resolver.refused is not None:
                    raise FetchRefused(
                        f"{resolver.refused} is a private or local address"
                    ) from None
                raise
            async with response:
                if response.status in REDIRECTS and "Location" in response.headers:
                    current = urljoin(current, response.headers["Location"])
                    continue
                body, truncated = await _read_capped(response, max_bytes)
                return Page(
                    url=str(response.url),
                    status=response.status,
                    content_type=response.headers.get("Content-Type", ""),
                    body=body,
                    truncated=truncated,
                )
        raise FetchRefused(f"more than {max_redirects} redirects")
