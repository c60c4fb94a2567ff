"""What a user sees of their own costs: the /usage footer (one answer, from its usage
record) and /me (their spend today and this month, and their budget)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from app.services.spend import SpendSummary
from llmdoor import UsageEvent


def format_cost(event: UsageEvent) -> str:
    if event.cost_usd is None:
        return _("price unknown")
    cost = f"${event.cost_usd:.6f}"
    return f"~{cost}" if event.cost_estimated else cost


def format_seconds(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.2f} s"


def usage_footer(event: UsageEvent) -> str:
    """One answer's footer (all its model calls); a stopped or cut-off one says partial."""
    if event.outcome == "partial":
        text = _(
            "📊 {model} (partial) · {tokens_in} in / {tokens_out} out · {cost} · "
            "first token {ttft} · total {total}"
        )
    else:
        text = _(
            "📊 {model} · {tokens_in} in / {tokens_out} out · {cost} · first token {ttft} · "
            "total {total}"
        )
    return text.format(
        model=event.shortcut or event.model,
        tokens_in=event.prompt_tokens,
        tokens_out=event.completion_tokens,
        cost=format_cost(event),
        ttft=format_seconds(event.ttft_ms),
        total=format_seconds(event.latency_ms),
    )


def usd(value: float) -> str:
    """Dollars with enough digits that a cheap call does not read as $0.00."""
    if value == 0:
        return "$0"
    return f"${value:.2f}" if value >= 1 else f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


def me_text(summary: SpendSummary) -> str:
    return "\n".join(
        [
            _("💰 Your spend"),
            _("Today: {usd}").format(usd=usd(summary.today_usd)),
            _("This month: {usd}").format(usd=usd(summary.month_usd)),
            _("Budget: {budget}").format(budget=_budget(summary)),
        ]
    )


def me_markdown(summary: SpendSummary) -> str:
    """/me for a rich message: the same figures as a table."""
    rows = [
        (_("Today"), usd(summary.today_usd)),
        (_("This month"), usd(summary.month_usd)),
        (_("Budget"), _budget(summary)),
    ]
    cells = "\n".join(f"| {label} | {value.replace('|', '/')} |" for label, value in rows)
    # Dollar amounts are money, not formulas: escaped for the Markdown parser.
    cells = cells.replace("$", "\\$")
    return f"**{_('💰 Your spend')}**\n\n| | |\n|---|---|\n{cells}"


def _budget(summary: SpendSummary) -> str:
    if summary.unlimited_role:
        budget = _("no limit (admin)")
    elif summary.daily_budget_usd is None:
        budget = _("no limit")
    else:
        budget = _("{budget} a day, {left} left today").format(
            budget=usd(summary.daily_budget_usd), left=usd(summary.left_today_usd or 0.0)
        )
    return budget
