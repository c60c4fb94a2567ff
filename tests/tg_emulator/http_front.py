"""The HTTP front: an aiohttp app on 127.0.0.1 that decodes Bot API requests for the executor
and serves file downloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .files import FileStore
from .wire import UploadedFile, error_response, read_params

Execute = Callable[
    [str, dict[str, Any], dict[str, UploadedFile]], Awaitable[tuple[int, dict[str, Any]]]
]


class HttpFront:
    """``/bot<token>/<method>`` and ``/file/bot<token>/<path>``, as api.telegram.org has them."""

    def __init__(self, token: str, execute: Execute, files: FileStore) -> None:
        self._token, self._execute, self._files = token, execute, files
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> str:
        """Serve on ``host:port`` (0: a free port); returns the base URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]  # the port the OS picked for port 0
        return f"http://{host}:{bound}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return error_response(401, "Unauthorized")
        try:
            params, files = await read_params(request)
        except Exception as exc:  # a malformed body is the client's fault: 400, not a crash
            return error_response(400, f"Bad Request: can't parse request body: {exc}")
        status, body = await self._execute(request.match_info["method"], params, files)
        if status == 0:  # the answer is lost: drop the connection without one
            if request.transport is not None:
                request.transport.close()
            return web.Response()  # never written: the connection is gone
        return web.json_response(body, status=status)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self._token:
            return error_response(401, "Unauthorized")
        stored = self._files.at_path(request.match_info["path"])
        if stored is None:
            return error_response(404, "Not Found")
        return web.Response(body=stored.data, content_type="application/octet-stream")
