"""The scheduled-work lines of /stats: everyone's reminders and scheduled prompts by state,
the runs done, and how many are due but not run (the scheduler is behind or down)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from app.storage.tasks import TaskCounts


def tasks_text(c: TaskCounts) -> str:
    """Empty when nobody has scheduled anything yet."""
    if c == TaskCounts():
        return ""
    return _(
        "Reminders: {r_active} active, {r_paused} paused\n"
        "Scheduled prompts: {p_active} active, {p_paused} paused\n"
        "Runs done: {runs}; due but late now: {late}"
    ).format(
        r_active=c.reminders_active,
        r_paused=c.reminders_paused,
        p_active=c.prompts_active,
        p_paused=c.prompts_paused,
        runs=c.runs,
        late=c.late,
    )
