"""The figures /stats shows, read from the daily rollups only: their cost depends on the
number of days, users and models in the window, never on the number of usage records."""

from __future__ import annotations

from datetime import datetime

from app.storage.base import UsageRepository
from app.storage.models import DayUsage, ModelUsage, RollupTotals, StatsWindow, UserUsage
from app.storage.rollups import merge_per_day, merge_per_model, merge_per_user, merge_totals


class RollupStats:
    """Windows are whole UTC days (a window starting mid-day counts that whole day)."""

    def __init__(self, usage: UsageRepository, retention_days: int | None = None) -> None:
        self._usage = usage
        #: How many days raw records (recent errors, CSV export) are kept; None: forever.
        self.retention_days = retention_days

    async def totals(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> RollupTotals:
        return merge_totals(await self._usage.histogram_rollups(window, user_id=user_id))

    async def per_user(self, window: StatsWindow | None = None, limit: int = 20) -> list[UserUsage]:
        return merge_per_user(await self._usage.rollups(window), limit)

    async def per_model(
        self, window: StatsWindow | None = None, limit: int = 20, *, user_id: int | None = None
    ) -> list[ModelUsage]:
        return merge_per_model(await self._usage.rollups(window, user_id=user_id), limit)

    async def per_day(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[DayUsage]:
        return merge_per_day(await self._usage.rollups(window, user_id=user_id))

    async def detail_since(self) -> datetime | None:
        """The oldest raw record still stored (None: none)."""
        return await self._usage.oldest_record_at()
