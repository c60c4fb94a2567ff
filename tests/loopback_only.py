"""LoopbackOnly: every socket the test process opens may reach this machine and nothing
else. Tests give the URL guard private, link-local and cloud-metadata addresses on
purpose (169.254.169.254, 10.0.0.1, ...): if the guard under test were broken, the fetch
must end here, not as a packet off the machine. Installed for the whole session by
tests/conftest.py, under every client (aiohttp, httpx, pymongo): they all connect through
``socket.socket.connect``/``connect_ex``. Unix sockets pass; so do loopback addresses and
``localhost``; anything else is refused as if nobody listened."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class OffMachineConnection(ConnectionRefusedError):
    """A test tried to open a connection to an address off this machine."""


def check_loopback(address: Any) -> None:
    if not isinstance(address, tuple):
        return  # AF_UNIX paths and the like never leave the machine
    host = str(address[0]).split("%", 1)[0]
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        # A host name: tests resolve nothing off the machine either.
        raise OffMachineConnection(f"tests connect to loopback only, not {host!r}") from None
    if not ip.is_loopback and not (
        isinstance(ip, ipaddress.IPv6Address)
        and ip.ipv4_mapped is not None
        and ip.ipv4_mapped.is_loopback
    ):
        raise OffMachineConnection(f"tests connect to loopback only, not {host}")


def _connect(self: socket.socket, address: Any) -> None:
    check_loopback(address)
    _original_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    check_loopback(address)
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]


def installed() -> bool:
    return socket.socket.connect is _connect
