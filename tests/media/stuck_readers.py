"""Readers that misbehave, put in place of ``convert`` to test the child process that runs
it. Module-level and light to import: the child imports this module by name."""

from __future__ import annotations

import os
import time
from pathlib import Path


def sleeper(data: bytes, *_args: object) -> object:
    """A reader stuck for a minute; it leaves its pid where ``data`` says."""
    Path(data.decode()).write_text(str(os.getpid()))
    time.sleep(60)
    raise AssertionError("never reached")


def spinner(data: bytes, *_args: object) -> object:
    """A reader burning CPU for a minute; it leaves its pid where ``data`` says."""
    Path(data.decode()).write_text(str(os.getpid()))
    end = time.monotonic() + 60
    while time.monotonic() < end:
        pass
    raise AssertionError("never reached")


def hog(*_args: object) -> object:
    """A reader that wants 4 GB."""
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]
    return len(blocks)
