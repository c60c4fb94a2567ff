"""Formatting and time-window helpers shared by the dialogs. All text goes through
gettext at call time, so it is rendered in the language of the user being served."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram_dialog.widgets.kbd import ScrollingGroup, Select
from aiogram_dialog.widgets.text import Format

from app.storage import StatsWindow, UsageBucket, UserRecord

PAGE_HEIGHT = 8  # rows of buttons per page in every list menu

WINDOW_KEYS: tuple[str, ...] = ("today", "7d", "30d", "all")
DEFAULT_WINDOW = "7d"


def utcnow() -> datetime:
    """The clock of the stats windows; tests patch this module attribute."""
    return datetime.now(UTC)


def midnight_utc(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def window_for(key: str, now: datetime | None = None) -> StatsWindow:
    """Calendar-aligned UTC windows: "7d" is today plus the 6 previous UTC days, so the
    daily chart has whole days and matches the per-day aggregation."""
    start = midnight_utc(now or utcnow())
    days = {"today": 0, "7d": 6, "30d": 29}
    if key not in days:
        return StatsWindow()
    return StatsWindow(since=start - timedelta(days=days[key]))


def window_key(manager: Any) -> str:
    """The stats window chosen in a dialog (its ``dialog_data``), else the default."""
    key = manager.dialog_data.get("window", DEFAULT_WINDOW)
    return key if key in WINDOW_KEYS else DEFAULT_WINDOW


def selected_window(manager: Any) -> StatsWindow:
    return window_for(window_key(manager))


def window_label(key: str) -> str:
    labels = {
        "today": _("Today (UTC)"),
        "7d": _("Last 7 days"),
        "30d": _("Last 30 days"),
        "all": _("All time"),
    }
    return labels.get(key, labels["all"])


def fmt_usd(value: float) -> str:
    """Sub-dollar sums keep 4 decimals: LLM calls often cost fractions of a cent."""
    if value == 0:
        return "$0.00"
    if abs(value) < 1:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def fmt_price(value: float) -> str:
    """Per-million prices: always two decimals ($2.50), more for sub-cent prices."""
    return f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def fmt_cost(bucket: UsageBucket) -> str:
    """Priced spend, plus how many requests had no known price (never guessed) and how many
    were priced from the operator's fallback price (an estimate, so said)."""
    cost = fmt_usd(bucket.cost_usd)
    if bucket.fallback_priced_requests:
        cost = _("{cost} (incl. {count} at the fallback price)").format(
            cost=cost, count=bucket.fallback_priced_requests
        )
    if bucket.unpriced_requests:
        return _("{cost} + {count} unpriced").format(cost=cost, count=bucket.unpriced_requests)
    return cost


def fmt_count(value: int) -> str:
    """Compact counts for tight button labels: 950, 12.3k, 4.1M."""
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{value / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def fmt_latency(ms: float | None) -> str:
    if ms is None or math.isnan(ms):
        return _("n/a")
    if ms < 1000:
        return _("{value} ms").format(value=round(ms))
    return _("{value} s").format(value=f"{ms / 1000:.2f}")


def user_label(user_id: int | None, record: UserRecord | None = None) -> str:
    """How a user is named in admin menus: @username, else full name, else the id."""
    if user_id is None:
        return _("library calls (no user)")
    if record is not None:
        if record.username:
            return f"@{record.username}"
        if record.full_name:
            return record.full_name
    return str(user_id)


ECHO_CHARS = 64  # how much of a user-typed name a reply repeats


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters plus "…": for echoing what a user typed."""
    return text if len(text) <= limit else text[:limit] + "…"


def paged_select(select_id: str, items: str, on_click: Any, *, width: int = 1) -> ScrollingGroup:
    """A paginated list of buttons over getter items shaped ``{"id": ..., "label": ...}``."""
    return ScrollingGroup(
        Select(
            Format("{item[label]}"),
            id=select_id,
            item_id_getter=lambda item: item["id"],
            items=items,
            on_click=on_click,
        ),
        id=f"{select_id}_page",
        width=width,
        height=PAGE_HEIGHT,
        hide_on_single_page=True,
    )
