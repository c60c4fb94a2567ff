"""The pure chart and CSV functions."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.bot.dialogs.stats.charts import _fill_gaps, render_daily_chart
from app.bot.dialogs.stats.csv_export import COLUMNS, usage_csv
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


def test_chart_stacks_each_kind_with_a_legend(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.axes import Axes

    bars: list[dict[str, Any]] = []
    legends: list[list[str]] = []
    real_bar, real_legend = Axes.bar, Axes.legend

    def bar(self: Axes, x: Any, height: Any, *args: Any, **kwargs: Any) -> Any:
        bars.append({"height": list(height), "bottom": kwargs.get("bottom"), **kwargs})
        return real_bar(self, x, height, *args, **kwargs)

    def legend(self: Axes, *args: Any, **kwargs: Any) -> Any:
        _handles, labels = self.get_legend_handles_labels()
        legends.append(labels)
        return real_legend(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "bar", bar)
    monkeypatch.setattr(Axes, "legend", legend)
    d1, d2, d3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
    days = [DayUsage(day=d1, requests=5, cost_usd=0.5), DayUsage(day=d3, requests=2)]
    by_kind = {
        "Chat": [DayUsage(day=d1, requests=3), DayUsage(day=d3, requests=2)],
        "Images": [DayUsage(day=d1, requests=2)],
    }
    png = render_daily_chart(days, by_kind=by_kind)
    assert png.startswith(PNG_SIGNATURE)
    chat, images = bars
    assert chat["label"] == "Chat" and chat["height"] == [3, 0, 2]  # d2 filled as a gap
    assert list(chat["bottom"]) == [0, 0, 0]
    # Stacked: the second kind starts on top of the first.
    assert images["label"] == "Images" and images["height"] == [2, 0, 0]
    assert list(images["bottom"]) == [3, 0, 2]
    assert chat["color"] != images["color"]
    assert legends == [["Chat", "Images"]]
    assert d2 not in {d.day for d in days}


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

    from app.bot.dialogs.stats.csv_export import CsvTooLarge

    with pytest.raises(CsvTooLarge):
        await usage_csv(_records(1000), max_bytes=10_000)
    assert len(await usage_csv(_records(3), max_bytes=10_000)) < 10_000
