"""A MongoDB for tests: a real mongod when TEST_MONGODB_URI is set, else SecantusDB.

SecantusDB (dev dependency) speaks the MongoDB wire protocol over WiredTiger, in-process
on 127.0.0.1 with a temporary data directory. Reusable from any conftest:

    from tests.storage.mongo_server import mongo_target
    with mongo_target(tmp_path_factory.mktemp("mongo")) as target:
        target.uri, target.label   # label: "mongodb-secantus" or "mongodb-real"

There is deliberately no skip path: if the stand-in can't start, the error propagates and
the tests that need it ERROR, so a missing backend is never reported as passed.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ENV_URI = "TEST_MONGODB_URI"

Kind = Literal["secantus", "real"]


def mongo_kind() -> Kind:
    return "real" if os.environ.get(ENV_URI) else "secantus"


def mongo_label() -> str:
    """Test-id label naming the server the mongodb tests run on."""
    return f"mongodb-{mongo_kind()}"


def fresh_db_name(prefix: str = "test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class MongoTarget:
    uri: str
    kind: Kind
    server: object | None = None  # the SecantusDBServer, when we run one

    @property
    def label(self) -> str:
        return f"mongodb-{self.kind}"


class SecantusProcess:
    """One SecantusDB server on a directory, restartable on the same port (so clients
    that were connected reconnect by themselves, as they would to a restarted mongod)."""

    def __init__(self, storage_path: Path, port: int = 0) -> None:
        self.storage_path = storage_path
        self.port = port
        self._server: object | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> None:
        import secantus

        server = secantus.SecantusDBServer(
            host="127.0.0.1", port=self.port, storage_path=str(self.storage_path)
        )
        server.start()
        self.port = server.address[1]
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()  # type: ignore[attr-defined]

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        # stop() blocks while it drains connections: keep the event loop (and the
        # pymongo client on it) running meanwhile.
        await asyncio.to_thread(self.stop)

    @property
    def running(self) -> bool:
        return self._server is not None


@contextmanager
def secantus_server(storage_path: Path, port: int = 0) -> Iterator[SecantusProcess]:
    proc = SecantusProcess(storage_path, port)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@contextmanager
def mongo_target(storage_path: Path) -> Iterator[MongoTarget]:
    uri = os.environ.get(ENV_URI)
    if uri:
        yield MongoTarget(uri=uri, kind="real")
        return
    with secantus_server(storage_path) as proc:
        yield MongoTarget(uri=proc.uri, kind="secantus", server=proc)
