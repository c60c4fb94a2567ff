"""Rebuild the daily usage rollups from the raw records (backfill after an upgrade, or
repair): ``python -m app.ops.rebuild_rollups``. Idempotent: running it twice gives the
same rollups. Run it while no bot instance writes usage (a record written during the
rebuild may be counted twice until the next run).

Only the days the raw records still cover are rebuilt; with MONGODB_USAGE_RETENTION_DAYS
set, the oldest (partly expired) day and everything before keep their rollups.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from app.config import StorageSettings
from app.storage import open_storage
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


async def rebuild(settings: StorageSettings) -> int:
    uri = settings.uri.get_secret_value() if settings.uri else None
    storage = await open_storage(
        uri,
        db_name=settings.db,
        timeout_ms=settings.timeout_ms,
        retention_days=settings.usage_retention_days,
    )
    try:
        return await storage.usage.rebuild_rollups()
    finally:
        await storage.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = asyncio.run(rebuild(StorageSettings()))
    except StorageUnavailable as exc:
        log.error("rollups not rebuilt: %s", exc)
        return 1
    print(f"rollups rebuilt: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
