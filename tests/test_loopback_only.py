"""The suite's LoopbackOnly guard (tests/loopback_only.py) is on, lets loopback through and
refuses everything else before a packet is sent, whichever client asks."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from tests import loopback_only
from tests.loopback_only import OffMachineConnection


def test_the_guard_is_installed_for_the_whole_session() -> None:
    assert loopback_only.installed()


@pytest.mark.parametrize(
    "address",
    [
        ("169.254.169.254", 80),
        ("10.0.0.1", 80),
        ("192.168.1.1", 443),
        ("8.8.8.8", 53),
        ("example.com", 80),
        ("2001:db8::1", 80, 0, 0),
    ],
)
def test_off_machine_addresses_are_refused_before_connecting(address: tuple) -> None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(OffMachineConnection):
            sock.connect(address)
        with pytest.raises(OffMachineConnection):
            sock.connect_ex(address)


def test_loopback_passes() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


async def test_an_http_client_meets_it_too() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(
                "http://169.254.169.254/latest/meta-data/", timeout=aiohttp.ClientTimeout(total=5)
            )
