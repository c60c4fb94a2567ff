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
    "kind",  # last: scripts that index the earlier columns keep working
)


class CsvTooLarge(Exception):
    """The export passed ``max_bytes`` (Telegram bots may send documents up to 50 MB)."""


def _cell(value: object) -> object:
    return "" if value is None else value


async def usage_csv(records: AsyncIterator[UsageRecord], *, max_bytes: int | None = None) -> bytes:
    """Rows are written as records stream in, so only the CSV text is held, never the
    records themselves. UTF-8 with BOM so Excel opens it with the right encoding.

    With ``max_bytes`` the export stops (CsvTooLarge) as soon as it would be larger, so a
    huge window costs neither the memory nor the time of a file Telegram would refuse."""
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
                rec.kind,
            ]
        )
        # Characters approximate bytes (the text is almost all ASCII); checked exactly below.
        if max_bytes is not None and buf.tell() > max_bytes:
            raise CsvTooLarge(max_bytes)
    data = buf.getvalue().encode("utf-8-sig")
    if max_bytes is not None and len(data) > max_bytes:
        raise CsvTooLarge(max_bytes)
    return data
