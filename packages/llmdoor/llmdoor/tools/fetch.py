"""Fetching a URL on a model's behalf without opening a way into the bot's own network.

- Only http and https, on every hop.
- The address is checked after DNS resolution, inside the connector's resolver, so the
  connection goes to exactly the address that was checked (no second look-up a rebinding
  DNS server could answer differently). Anything but a global unicast address is refused:
  private, loopback, link-local (169.254.169.254 and other metadata endpoints), CGNAT,
  multicast, reserved, unspecified; an IPv6 address that carries an IPv4 one (mapped,
  NAT64 64:ff9b::/96, 6to4, Teredo) is judged by the IPv4 address it carries, and the
  IPv4-compatible ::/96, IPv4-translated ::ffff:0:0:0/96 and local-use NAT64
  64:ff9b:1::/48 ranges are refused outright.
- An IPv4 address in one of the forms ``inet_aton`` accepts besides the dotted quad
  (``2130706433``, ``0177.0.0.1``, ``127.1``, ``0x7f000001``) is refused before any
  connection, by our own parser: whether a library or libc maps it onto an address is not
  something to rely on.
- The host is judged as the HTTP client will use it, not as written: yarl (aiohttp's URL
  parser) applies NFKC and IDNA (UTS 46), so ``127。0。0。1``, ``127．0．0．1`` and
  fullwidth digits all mean ``127.0.0.1``; every check runs on that form, and the request
  is sent for exactly the URL that was judged.
- The address every socket connects to is judged again as the socket is made (the
  connector's socket factory), so an IP literal (which skips the resolver) or any other
  way around the checks above still cannot open a connection to a non-public address. A
  refused address never sees a packet.
- Redirects are followed by hand, each hop checked like the first.
- Size and time are capped; proxies from the environment are not used.
- ``allow_hosts`` (TOOLS_FETCH_ALLOW_HOSTS) lets named hosts through, matched on the host
  (or host:port) as written in the URL, never on the address it resolves to. A port counts
  as the URL's port or its scheme's default (``127.0.0.1:80`` allows ``http://127.0.0.1/``);
  IPv6 entries are written in brackets when they have a port (``[::1]:8080``); an entry
  may also be written as a URL (``http://wiki.lan:8080/``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

if TYPE_CHECKING:
    from aiohappyeyeballs import AddrInfoType  # aiohttp's own dependency
from yarl import URL

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


DEFAULT_PORTS = {"http": 80, "https": 443}
# Ranges refused whatever they carry: IPv4-compatible (deprecated), IPv4-translated (SIIT)
# and local-use NAT64 (RFC 8215, never routed on the internet).
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48")
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_Aton = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def _global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address (de-obfuscated)
    return None


def is_public(address: str) -> bool:
    """Whether an address (as a resolver or a URL gives it) is a public unicast one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # Mapped addresses: Python's answer for the IPv6 form varies by version.
            mapped = ip.ipv4_mapped is not None
            return _global(embedded) and (mapped or _global(ip))
    return _global(ip)


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host means in one of inet_aton's forms (1 to 4 parts, each
    decimal, octal with a leading 0 or hex with 0x; the last part fills the remaining
    bytes), or None when it is not such a form or is the usual dotted quad."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_Aton.fullmatch(p) for p in parts):
        return None
    values = [
        int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8 if p[0] == "0" else 10)
        for p in parts
    ]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    address = ipaddress.IPv4Address(number)
    return None if str(address) == host else address


def _normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def _allow_entry(entry: str) -> tuple[str, int | None] | None:
    """(host, port or None for any port) of one TOOLS_FETCH_ALLOW_HOSTS entry."""
    entry = entry.strip().lower()
    if "://" in entry:
        parts = urlsplit(entry)
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return None
        return (_normal_host(parts.hostname), port) if parts.hostname else None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else None
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
    else:  # a name, an IPv4 address or a bare IPv6 address: any port
        host, port_text = entry, None
    if not port_text:
        return _normal_host(host), None
    return (_normal_host(host), int(port_text)) if port_text.isdigit() else None


def is_allowed(host: str, port: int | None, allow: frozenset[str]) -> bool:
    """Whether TOOLS_FETCH_ALLOW_HOSTS lets ``host`` (as written) on ``port`` through."""
    if not allow:
        return False
    entries = {e for e in map(_allow_entry, allow) if e is not None}
    name = _normal_host(host)
    return (name, None) in entries or (port is not None and (name, port) in entries)


@dataclass
class _Permits:
    """What one fetch may connect to beyond public addresses: the (address, port) pairs
    the resolver or ``check_url`` already passed (allowed hosts, and answers judged once,
    so a second judgement cannot disagree with the first)."""

    passed: set[tuple[str, int]] = field(default_factory=set)
    refused: str | None = None

    def socket_factory(self, addr_info: AddrInfoType) -> socket.socket:
        """The connector's socket factory: the last word on where a socket connects."""
        family, kind, proto, _name, address = addr_info
        host, port = str(address[0]), int(address[1])
        if (_normal_host(host), port) not in self.passed and not is_public(host):
            self.refused = self.refused or host
            raise OSError(f"{host} is a private or local address")
        return socket.socket(family, kind, proto)


class _GuardedResolver(AbstractResolver):
    """Resolves, then refuses any non-public address unless the host is allowed."""

    def __init__(
        self,
        allow: frozenset[str],
        inner: AbstractResolver | None = None,
        permits: _Permits | None = None,
    ) -> None:
        self._inner = inner or DefaultResolver()
        self._allow = allow
        self._permits = permits or _Permits()
        self.refused: str | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if legacy_ipv4(host) is not None:  # check_url refuses these; never resolve one
            self.refused = host
            raise OSError(f"{host} is not an address in the usual form")
        results = await self._inner.resolve(host, port, family)
        if not is_allowed(host, port, self._allow):
            for result in results:
                if not is_public(result["host"]):
                    self.refused = host
                    raise OSError(f"{host} resolves to a non-public address")
        self._permits.passed.update((_normal_host(r["host"]), r["port"]) for r in results)
        return results

    async def close(self) -> None:
        await self._inner.close()


# Dots other than "." that IDNA (UTS 46) maps onto it: ideographic, fullwidth, halfwidth.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _nfkc_host(host: str) -> str:
    """A second opinion on the host the client will use: NFKC, the Unicode dots, lower
    case. Where it reads an IP address, the URL is judged by that too."""
    return unicodedata.normalize("NFKC", host.translate(_DOTS)).translate(_DOTS).lower()


def client_url(url: str) -> URL:
    """The URL as the HTTP client parses it (aiohttp uses yarl): host in IDNA, NFKC applied,
    Unicode dots and fullwidth digits turned into ASCII."""
    try:
        return URL(url)
    except (ValueError, TypeError, UnicodeError):
        raise FetchRefused("the URL cannot be parsed") from None


def check_url(url: str, allow: frozenset[str]) -> None:
    """The checks that need no DNS: scheme, host present, IP literals; on the host as the
    HTTP client will use it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be read, not {parts.scheme or '?'}:")
    target = client_url(url)
    host = target.raw_host
    if not host or not parts.hostname:
        raise FetchRefused("the URL has no host")
    try:
        port = target.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise FetchRefused("the URL's port is not a number") from None
    written = _nfkc_host(parts.hostname)
    if written.rstrip(".") != host.lower().rstrip(".") and _is_address(written.rstrip(".")):
        # The client's parser and NFKC disagree about an address: judge the stricter.
        _judge_address(written.rstrip("."), parts.hostname)
    if is_allowed(host, port, allow):
        return
    _judge_address(host.rstrip("."), parts.hostname)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return legacy_ipv4(name) is not None
    return True


def _judge_address(name: str, host: str) -> None:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        legacy = legacy_ipv4(name)
        if legacy is not None:  # 2130706433, 0177.0.0.1, 127.1, 0x7f000001: 127.0.0.1
            raise FetchRefused(
                f"{host} is an address in an unusual form ({legacy}); write it as usual"
            ) from None
        return  # a name: checked after resolution
    if not is_public(name):
        raise FetchRefused(f"{host} is a private or local address")


def _permit_allowed_literal(url: URL, allow: frozenset[str], permits: _Permits) -> None:
    """An allowed host written as an IP address never reaches the resolver: its address is
    passed here, for the socket factory."""
    host = (url.raw_host or "").rstrip(".")
    port = url.port or DEFAULT_PORTS.get(url.scheme, 0)
    if _is_address(host) and legacy_ipv4(host) is None and is_allowed(host, port, allow):
        permits.passed.add((_normal_host(host), port))


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
    resolver: AbstractResolver | None = None,
) -> Page:
    """GET ``url`` under the rules in the module docstring; FetchRefused when a rule says
    no, ``aiohttp.ClientError`` / ``TimeoutError`` when the network fails. ``resolver``
    replaces the system's DNS look-ups (its answers are checked all the same)."""
    permits = _Permits()
    guard = _GuardedResolver(allow_hosts, resolver, permits)
    connector = aiohttp.TCPConnector(
        resolver=guard, use_dns_cache=False, limit=4, socket_factory=permits.socket_factory
    )
    request_headers: dict[str, Any] = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    request_headers.update(headers or {})
    async with (
        asyncio.timeout(timeout),
        aiohttp.ClientSession(connector=connector, trust_env=False) as session,
    ):
        current = url
        for _hop in range(max_redirects + 1):
            check_url(current, allow_hosts)
            target = client_url(current)  # exactly what was judged is what is requested
            _permit_allowed_literal(target, allow_hosts, permits)
            try:
                response = await session.get(target, allow_redirects=False, headers=request_headers)
            except aiohttp.ClientConnectorError:
                refused = guard.refused or permits.refused
                if refused is not None:
                    raise FetchRefused(f"{refused} is a private or local address") from None
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
