"""/stats reads the daily rollups: figures outlive the raw records' retention, and the
main view says how far back the detail goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator

from app.storage import open_memory_storage
from llmdoor.usage import UsageEvent

from .conftest import ADMIN_ID, FRIEND_ID, App


@pytest.fixture
def thirty_day_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    def with_retention(**kwargs: Any) -> Any:
        return open_memory_storage(retention_days=30, **kwargs)

    monkeypatch.setattr("tests.dialogs.conftest.open_memory_storage", with_retention)


@pytest.fixture
async def retained_app(thirty_day_retention: None, app: App) -> App:
    """``app`` built after the patch (fixtures are set up in argument order)."""
    return app


async def test_all_time_figures_outlive_the_records(retained_app: App) -> None:
    now = datetime.now(UTC)
    await retained_app.storage.usage.add_many(
        [
            UsageEvent(user_id=FRIEND_ID, model="m-a", cost_usd=0.5, latency_ms=100,
                       created_at=now - timedelta(days=100)),
            UsageEvent(user_id=FRIEND_ID, model="m-a", cost_usd=0.25, latency_ms=100,
                       created_at=now - timedelta(hours=1)),
        ]
    )  # fmt: skip
    assert await retained_app.storage.usage.count() == 1  # the old record has expired
    client = retained_app.client(ADMIN_ID)
    await client.send("/stats")
    await client.click(retained_app.mm.last_message(), InlineButtonTextLocator("All time"))
    text = retained_app.mm.last_message().text or ""
    assert "Requests: 2 (errors: 0)" in text
    assert "Cost: $0.7500" in text
    assert "kept for 30 days" in text
    assert f"the oldest is from {(now - timedelta(hours=1)).strftime('%Y-%m-%d')}" in text


async def test_no_detail_line_when_records_are_kept_forever(app: App) -> None:
    await app.storage.usage.add(UsageEvent(user_id=FRIEND_ID, model="m-a", cost_usd=0.1))
    await app.client(ADMIN_ID).send("/stats")
    text = app.mm.last_message().text or ""
    assert "Requests: 1" in text
    assert "kept for" not in text
