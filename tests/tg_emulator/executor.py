"""Runs one API call: logs it, lets faults act, dispatches to the method table."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from .calllog import CallLog
from .faults import FaultInjector
from .methods import MethodTable, Request
from .models import ApiCall
from .state import EmulatorState
from .wire import AIOGRAM_METHODS, RICH_METHODS, ApiError, UploadedFile

log = logging.getLogger("tg_emulator")

Envelope = tuple[int, dict[str, Any]]  # (HTTP status, Telegram's JSON envelope)
#: Served for a call whose answer is lost: the HTTP front drops the connection.
LOST: Envelope = (0, {})


class ApiExecutor:
    """The one path every call takes, whether it came over HTTP or from a test."""

    def __init__(
        self, state: EmulatorState, table: MethodTable, faults: FaultInjector, calls: CallLog
    ) -> None:
        self.state, self.table, self.faults, self.calls = state, table, faults, calls

    async def execute(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile] | None = None
    ) -> Envelope:
        # The idle long poll is not bot activity (wait_quiet must not wait for it).
        polling = method.lower() == "getupdates"
        if not polling:
            self.calls.started()
        try:
            return await self._run(method, params, files or {})
        finally:
            if not polling:
                self.calls.finished()

    async def _run(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Envelope:
        call = self.calls.record(method, params, files)
        try:
            await self.faults.before(call)
            result = await self._dispatch(call, files)
        except ApiError as exc:
            return self._failed(call, exc)
        except Exception as exc:  # never crash the server: report it to the test instead
            text = f"{method}: {exc!r}\n{traceback.format_exc()}"
            self.calls.errors.append(text)
            log.error("emulator error in %s", text)
            return self._failed(call, ApiError(500, f"Internal Server Error: {exc!r}"))
        call.status, call.ok, call.result = 200, True, result
        self.state.changes.notify()
        if self.faults.lose(call):
            return LOST
        return 200, {"ok": True, "result": result}

    async def _dispatch(self, call: ApiCall, files: dict[str, UploadedFile]) -> Any:
        lname = call.method.lower()
        handler = self.table.get(lname)
        if lname in RICH_METHODS and not self.state.behaviour.rich_messages:
            # an old server (before Bot API 10.1) does not know the method
            self.calls.unknown_methods.append(call.method)
            raise ApiError(404, "Not Found")
        if handler is not None:
            self.faults.flood.check(lname, call.params)
            return await handler(self.state, Request(call.params, files))
        known = AIOGRAM_METHODS.get(lname)
        if known is None:
            self.calls.unknown_methods.append(call.method)
            raise ApiError(404, "Not Found")
        if known.__returning__ is not bool:
            raise ApiError(501, f"Internal Server Error: emulator does not implement {call.method}")
        return True  # a real method the emulator accepts without emulating it

    def _failed(self, call: ApiCall, exc: ApiError) -> Envelope:
        call.status, call.description = exc.code, exc.description
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        self.state.changes.notify()
        return exc.code, body

    def generic_calls(self) -> list[ApiCall]:
        """Calls to real Bot API methods the emulator accepted without emulating them."""
        return [c for c in self.calls.entries if c.method.lower() not in self.table and c.ok]
