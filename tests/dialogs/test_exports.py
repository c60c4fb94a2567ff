"""The pure chart and CSV functions."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

from app.bot.charts import _fill_gaps, render_daily_chart
from app.bot.csv_export import COLUMNS, usage_csv
from app.storage import DayUsage, UsageRecord

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_chart_png_and_gaps() -> None:
    days = [
        DayUsage(day=date(2026, 11, 1), requests=3, cost_usd=0.5),
        DayUsage(day=date(2026, 11, 4), requests=1, cost_usd=0.1),
    ]
    png = render_daily_chart(days, title="Nutzung")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    filled = _fill_gaps(days)
    assert [d.day.day for d in filled] == [1, 2, 3, 4]
    assert filled[1].requests == 0


async def _records(n: int) -> AsyncIterator[UsageRecord]:
    for i in range(n):
        yield UsageRecord(
            id=f"{i:024x}",
            user_id=i or None,
            model="openai/gpt-4o",
            prompt_tokens=i,
            cost_usd=None if i == 0 else 0.25,
            created_at=datetime(2026, 11, 25, tzinfo=UTC),
        )


async def test_csv_header_and_rows() -> None:
    data = await usage_csv(_records(3))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 4
    first = dict(zip(COLUMNS, rows[1], strict=True))
    assert first["user_id"] == "" and first["cost_usd"] == ""  # None is an empty cell
    assert dict(zip(COLUMNS, rows[2], strict=True))["cost_usd"] == "0.25"


async def test_csv_empty_is_header_only() -> None:
    data = await usage_csv(_records(0))
    assert data.decode("utf-8-sig").strip() == ",".join(COLUMNS)


async def test_csv_stops_past_max_bytes() -> None:
    import pytest

    from app.bot.csv_export import CsvTooLarge

    with pytest.raises(CsvTooLarge):
        await usage_csv(_records(1000), max_bytes=10_000)
    assert len(await usage_csv(_records(3), max_bytes=10_000)) < 10_000
