"""The per-user cap on tasks holds when many are set at once (both backends): each
/remind or /every checks the count and then adds, and those steps interleave."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.services.schedule.service import Reminded, Scheduled, ScheduleService
from app.services.schedule.settings import ScheduleSettings
from app.storage import Storage, UserRecord

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CAP = 3


async def test_the_count_cap_holds_under_concurrent_requests(storage: Storage) -> None:
    service = ScheduleService(storage, ScheduleSettings(max_per_user=CAP), clock=lambda: NOW)
    user = UserRecord(user_id=7)
    reminders = [service.remind(user, 7, 0, f"{n + 1}h task {n}") for n in range(10)]
    prompts = [service.every(user, 7, 0, f"day 8:0{n} news {n}") for n in range(10)]
    results = await asyncio.gather(*reminders, *prompts)
    kept = [r for r in results if r.status in (Reminded.SET, Scheduled.SET)]
    assert 1 <= await storage.tasks.count_for(7) <= CAP
    assert len(kept) == await storage.tasks.count_for(7)
    refused = {r.status for r in results if r not in kept}
    assert refused <= {Reminded.TOO_MANY, Scheduled.TOO_MANY}
