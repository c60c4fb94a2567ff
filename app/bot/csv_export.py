"""CSV export of usage records for the /stats panel."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from app.storage import UsageRecord

# Machine-readable column names (not translated: spreadsheets and scripts key on them).
COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "user_id",
    "model",
    "shortcut",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "ttft_ms",
    "outcome",
    "error_kind",
    "streamed",
)


def _cell(value: object) -> object:
    return "" if value is None else value


async def usage_csv(records: AsyncIterator[UsageRecord]) -> bytes:
    """Rows are written as records stream in, so only the CSV text is held, never the
    records themselves. UTF-8 with BOM so Excel opens it with the right encoding."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    async for rec in records:
        writer.writerow(
            [
                rec.id,
                rec.created_at.isoformat(),
                _cell(rec.user_id),
                rec.model,
                _cell(rec.shortcut),
                rec.prompt_tokens,
                rec.completion_tokens,
                _cell(rec.cost_usd),
                round(rec.latency_ms, 3),
                _cell(None if rec.ttft_ms is None else round(rec.ttft_ms, 3)),
                rec.outcome,
                _cell(rec.error_kind),
                int(rec.streamed),
            ]
        )
    return buf.getvalue().encode("utf-8-sig")
