"""Pictures for the /stats panel. matplotlib is imported lazily (it costs ~0.5 s and tens
of MB) and always with the Agg backend: the bot has no display and must never pick a GUI
backend. Rendering is CPU-bound; callers run it in a worker thread."""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from app.storage import DayUsage

# pyplot keeps global state; two renders at once from worker threads would interleave.
_LOCK = threading.Lock()


def _fill_gaps(days: Sequence[DayUsage]) -> list[DayUsage]:
    """Storage returns only days with records; a chart needs the empty days as zeros."""
    if not days:
        return []
    ordered = sorted(days, key=lambda d: d.day)
    by_day = {d.day: d for d in ordered}
    out: list[DayUsage] = []
    cur, last = ordered[0].day, ordered[-1].day
    while cur <= last:
        out.append(by_day.get(cur) or DayUsage(day=cur))
        cur += timedelta(days=1)
    return out


def render_daily_chart(
    days: Sequence[DayUsage],
    *,
    title: str = "Daily usage",
    requests_label: str = "Requests",
    cost_label: str = "Cost, USD",
    by_kind: Mapping[str, Sequence[DayUsage]] | None = None,
) -> bytes:
    """Daily requests (bars) and priced cost (line, second axis) as PNG bytes.
    ``by_kind``: the requests of each kind of call (label -> its days), drawn as stacked
    bars with a legend instead of one bar.

    Labels are parameters so the bot passes them translated; the defaults serve tests
    and library use."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    series = _fill_gaps(days)
    with _LOCK:
        fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
        try:
            # matplotlib converts dates itself; its stubs only admit numbers/arrays.
            x: Any = [d.day for d in series]
            if by_kind:
                _stacked(ax, x, series, by_kind)
            else:
                ax.bar(x, [d.requests for d in series], color="#4C78A8", label=requests_label)
            ax.set_ylabel(requests_label)
            ax.set_title(title)
            ax2 = ax.twinx()
            ax2.plot(x, [d.cost_usd for d in series], color="#F58518", marker="o")
            ax2.set_ylabel(cost_label)
            ax2.set_ylim(bottom=0)
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
            fig.autofmt_xdate()
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        finally:
            plt.close(fig)
    return buf.getvalue()


_KIND_COLOURS = ("#4C78A8", "#54A24B", "#E45756", "#B279A2", "#72B7B2", "#9D755D")


def _stacked(
    ax: Any, x: Any, series: Sequence[DayUsage], by_kind: Mapping[str, Sequence[DayUsage]]
) -> None:
    bottom = [0] * len(series)
    for n, (label, days) in enumerate(by_kind.items()):
        counts = {d.day: d.requests for d in days}
        heights = [counts.get(d.day, 0) for d in series]
        colour = _KIND_COLOURS[n % len(_KIND_COLOURS)]
        ax.bar(x, heights, bottom=bottom, color=colour, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.legend(loc="upper left", fontsize="small")
