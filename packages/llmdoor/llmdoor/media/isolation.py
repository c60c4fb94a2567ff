"""Running a document reader in a child process that can be stopped.

A parser stuck in a hostile file cannot be interrupted from another thread; a process can
be killed. So each file is read in a child forked from a forkserver (the readers' heavy
imports are loaded there once), under an address-space limit (RLIMIT_AS) and a CPU-time
limit, and killed when its time is up or the caller stops waiting. What comes back is the
reader's result or one of the typed document errors; anything else the child hits (a
recursion limit, a parser's own exception, a crash) is "this file is damaged".

The waiting happens in this module's own threads, never in asyncio's default executor:
a file cannot take the threads litellm, rendering or DNS look-ups run in. At most
``workers`` files are read at once; the rest wait their turn, and their time starts when
their child does.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from llmdoor.errors import DocumentError, DocumentTooComplex, DocumentUnreadable

log = logging.getLogger("llmdoor.media")

# Loaded once in the forkserver, so each child starts with them instead of importing them.
# (multiprocessing also imports the parent's main module in each child unless it is a
# package's __main__, as with ``python -m app``: a script's heavy top-level imports would
# be paid per file.)
PRELOAD = ["llmdoor.media.formats", "docx", "openpyxl", "pypdf", "bs4", "markdownify"]

# What a reader's libraries raise on a file they cannot parse (lxml's XMLSyntaxError is a
# SyntaxError; RecursionError, from a 5 000-deep HTML, a RuntimeError).
_PARSER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    LookupError,
    ArithmeticError,
    AssertionError,
    RuntimeError,
    SyntaxError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
)

_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    """The forkserver context, its preload set once (fork from a threaded process is
    unsafe; spawn would import the readers again for every file)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


def start_readers() -> None:
    """Start the forkserver now (it then loads the readers' libraries in the background),
    so the first document does not wait for it. Blocking: call it from a thread."""
    _mp_context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _address_space() -> int:
    """This process's virtual size in bytes (the child's limit is set above it)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    if memory_bytes > 0:
        cap = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if cpu_seconds > 0:
        # SIGXCPU at the soft limit, SIGKILL at the hard one: a backstop to the kill.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _child(
    conn: Connection,
    target: Callable[..., Any],
    args: tuple[Any, ...],
    memory_bytes: int,
    cpu_seconds: int,
) -> None:
    _limit(memory_bytes, cpu_seconds)
    message: tuple[Any, ...]
    try:
        message = ("ok", target(*args))
    except DocumentError as err:
        message = ("error", type(err), str(err), dict(vars(err)))
    except MemoryError:
        message = ("memory",)
    except _PARSER_ERRORS as exc:
        message = ("broken", type(exc).__name__)
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("memory",))
    conn.close()


def _rebuild(cls: type[DocumentError], text: str, attrs: dict[str, Any]) -> DocumentError:
    err = cls.__new__(cls)
    err.args = (text,)
    vars(err).update(attrs)
    return err


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds of wall clock per file, from the child's start
    memory_bytes: int  # address space the child may add to what it starts with


class _Job:
    """One child; ``run`` (in a pool thread) waits for it, ``kill`` stops it from anywhere."""

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> None:
        self._target = target
        self._args = args
        self._limits = limits
        self._process: Any = None
        self._killed = False
        self._lock = threading.Lock()

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            if self._process is not None and self._process.is_alive():
                self._process.kill()

    def run(self) -> Any:
        context = _mp_context()
        receive, send = context.Pipe(duplex=False)
        limits = self._limits
        cpu = int(limits.timeout) + 2
        with self._lock:
            if self._killed:
                raise DocumentUnreadable("Reading was stopped.", reason="timeout")
            process = context.Process(
                target=_child,
                args=(send, self._target, self._args, limits.memory_bytes, cpu),
                daemon=True,
                name="llmdoor-document",
            )
            process.start()
            self._process = process
        send.close()
        try:
            if not receive.poll(limits.timeout):
                raise DocumentUnreadable("Reading the document took too long.", reason="timeout")
            try:
                message = receive.recv()
            except (EOFError, OSError):
                # The child died without a word: killed (the CPU limit, a stop) or crashed.
                if self._killed:
                    raise DocumentUnreadable("Reading was stopped.", reason="timeout") from None
                raise DocumentUnreadable("The file could not be parsed.") from None
        finally:
            receive.close()
            if process.is_alive():
                process.kill()
            process.join(5)
        return _outcome(message)


def _outcome(message: tuple[Any, ...]) -> Any:
    kind = message[0]
    if kind == "ok":
        return message[1]
    if kind == "error":
        raise _rebuild(message[1], message[2], message[3])
    if kind == "memory":
        raise DocumentTooComplex("Reading the document needed too much memory.", reason="memory")
    log.info("document: the parser failed (%s): read as damaged", message[1])
    raise DocumentUnreadable(f"The file could not be parsed: {message[1]}")


class IsolatedRunner:
    """Reads files in killable children, ``workers`` at a time."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="llmdoor-documents"
        )

    async def run(self, target: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> Any:
        """``target(*args)`` in a child; the typed document errors as raised there, and
        DocumentUnreadable (timeout, damaged) or DocumentTooComplex (memory) for the rest.
        ``target`` must be a module-level function (it is pickled by name)."""
        job = _Job(target, args, limits)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, job.run)
        except asyncio.CancelledError:
            job.kill()  # the caller stopped waiting: so does the child
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_runners: dict[int, IsolatedRunner] = {}
_runners_lock = threading.Lock()


def runner(workers: int) -> IsolatedRunner:
    """The process-wide runner for this many workers (one pool, shared by every provider)."""
    with _runners_lock:
        found = _runners.get(workers)
        if found is None:
            found = _runners[workers] = IsolatedRunner(workers)
        return found
