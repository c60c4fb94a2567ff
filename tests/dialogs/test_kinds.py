"""/stats names every kind of call the provider records (CallKind), in both locales: what
the provider records, storage rolls up and /stats labels is one vocabulary."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from app.bot.dialogs.stats.csv_export import COLUMNS, usage_csv
from app.bot.dialogs.stats.kinds import kind_label, kind_lines
from app.storage import UsageRecord, open_memory_storage
from llmdoor import CallKind, UsageEvent

LOCALES = Path(__file__).resolve().parents[2] / "locales"


def labels(locale: str) -> dict[CallKind, str]:
    i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
    with i18n.context(), i18n.use_locale(locale):
        return {k: kind_label(k) for k in CallKind}


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_call_kind_has_its_own_label(locale: str) -> None:
    named = labels(locale)
    assert all(named[k] != k.value for k in CallKind)  # a label, not the bare value
    assert len(set(named.values())) == len(CallKind)


def test_labels_are_translated() -> None:
    english, russian = labels("en"), labels("ru")
    assert all(russian[k] != english[k] for k in CallKind)


async def test_kinds_stored_are_the_kinds_stats_names() -> None:
    storage = open_memory_storage()
    try:
        await storage.usage.add_many(
            [UsageEvent(user_id=1, model="m", kind=k, cost_usd=0.01) for k in CallKind]
        )
        rows = await storage.stats.per_kind()
        i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
        with i18n.context(), i18n.use_locale("ru"):
            lines = kind_lines(rows).splitlines()
            names = [kind_label(k) for k in CallKind]
    finally:
        await storage.close()
    assert len(lines) == len(CallKind)
    assert all(line.startswith(f"{name}:") for line, name in zip(lines, names, strict=True))


async def _one_per_kind() -> AsyncIterator[UsageRecord]:
    for i, kind in enumerate(CallKind):
        yield UsageRecord(
            id=f"{i:024x}",
            user_id=1,
            model="m",
            kind=kind,
            created_at=datetime(2026, 11, 25, tzinfo=UTC),
        )


async def test_csv_kind_column_is_the_stored_value() -> None:
    data = await usage_csv(_one_per_kind())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), fieldnames=COLUMNS))
    assert [r["kind"] for r in rows[1:]] == [k.value for k in CallKind]
