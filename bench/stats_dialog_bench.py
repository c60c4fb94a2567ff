"""What one /stats screen, chart and CSV export cost on the in-memory store.

    uv run python bench/stats_dialog_bench.py [--n 200000]

The panel's figures come from aggregations; only the CSV export walks the records. This
prints the time of each and the CSV/overview ratio, so a change that makes a screen load
records (or the export hold them) shows up. Never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bot.dialogs.stats.charts import render_daily_chart
from app.bot.dialogs.stats.csv_export import usage_csv
from app.storage import StatsWindow
from app.storage.memory import MemoryUsageRepository
from bench.stats_bench import START, synthetic


async def best(fn, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    repo = MemoryUsageRepository()
    await repo.add_many(list(synthetic(args.n)))
    windows = {"7d": StatsWindow(since=START.replace(day=24)), "all": StatsWindow()}
    render_daily_chart([])  # import matplotlib outside the timings
    print(f"{args.n:,} records over 30 days (memory backend)")
    for key, window in windows.items():

        async def overview(window: StatsWindow = window) -> object:
            # What the main, users and models screens ask for.
            return await asyncio.gather(
                repo.totals(window), repo.per_user(window), repo.per_model(window)
            )

        t_over, _ = await best(overview)
        t_days, days = await best(lambda window=window: repo.per_day(window))
        t0 = time.perf_counter()
        png = render_daily_chart(days)  # type: ignore[arg-type]
        t_chart = time.perf_counter() - t0
        t_csv, data = await best(lambda window=window: usage_csv(repo.iter_records(window)), 1)
        print(
            f"[{key}] overview {t_over * 1000:8.1f} ms | per_day {t_days * 1000:7.1f} ms | "
            f"chart {t_chart * 1000:6.1f} ms ({len(png) // 1024} KiB) | "
            f"csv {t_csv * 1000:8.1f} ms ({len(data) / 1e6:.1f} MB) | "  # type: ignore[arg-type]
            f"csv/overview {t_csv / t_over:5.1f}x"
        )


if __name__ == "__main__":
    asyncio.run(main())
