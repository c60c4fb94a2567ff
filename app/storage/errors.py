"""The one error a caller catches for a storage outage, on every backend."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database cannot be reached (or the circuit breaker says it is down). Wraps the
    driver's error as ``__cause__``; its message never contains the connection string."""
