"""Documents are read in a child process that is killed at the timeout and held to a
memory limit, within caps checked before parsing (an archive's expanded size and ratio)
and while parsing (paragraphs, cells, sheets, characters), at most N at once per user.
Every refusal is typed, so the user gets a reason, and recorded as a usage event; every
parser failure, whatever it raises, is "damaged".

On the old code the bomb, the slow reader and the memory hog ran in a thread of the bot's
own process (abandoned at the timeout, still burning CPU), and the malformed DOCX and the
5 000-deep HTML escaped as XMLSyntaxError / RecursionError ("Something went wrong", no
event)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmdoor import (
    DocumentBusy,
    DocumentTooComplex,
    DocumentUnreadable,
    InMemoryUsageSink,
    LLMProvider,
    MediaSettings,
)
from tests.media import hostile_files
from tests.media.stuck_readers import hog, sleeper, spinner

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has stopped running: as good as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _errors(sink: InMemoryUsageSink) -> list[str | None]:
    return [e.error_kind for e in sink.events if e.kind == "document" and e.outcome == "error"]


async def test_a_docx_zip_bomb_is_refused_before_parsing(
    provider: LLMProvider, sink: InMemoryUsageSink
) -> None:
    started = time.perf_counter()
    with pytest.raises(DocumentTooComplex) as caught:
        await provider.aread_document(hostile_files.docx_bomb(40), DOCX, "bomb.docx")
    assert caught.value.reason == "ratio"
    assert time.perf_counter() - started < 10  # judged by its directory, not expanded
    assert _errors(sink) == ["document_too_complex"]


async def test_the_expanded_size_is_capped(
    make_provider: Callable[..., LLMProvider], sink: InMemoryUsageSink
) -> None:
    provider = make_provider(media=MediaSettings(document_max_expanded_bytes=1024 * 1024))
    data = hostile_files.docx_many_paragraphs(20_000)  # ~1.6 MB of XML, ratio below 100
    with pytest.raises(DocumentTooComplex) as caught:
        await provider.aread_document(data, DOCX, "long.docx")
    assert caught.value.reason == "expanded"
    assert _errors(sink) == ["document_too_complex"]


async def test_paragraph_and_character_caps_cut_the_reading(
    make_provider: Callable[..., LLMProvider],
) -> None:
    provider = make_provider(media=MediaSettings(document_max_paragraphs=1000))
    doc = await provider.aread_document(hostile_files.docx_many_paragraphs(5000), DOCX, "long.docx")
    assert doc.cut and doc.truncated
    assert "line 999 " in doc.markdown and "line 1001 " not in doc.markdown
    provider = make_provider(media=MediaSettings(document_max_chars=5000))
    doc = await provider.aread_document(b"word " * 100_000, "text/plain", "big.txt")
    assert doc.cut and len(doc.markdown) <= 5000


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (hostile_files.xlsx_blank_rows, "blank.xlsx"),
        (lambda: hostile_files.xlsx_many_cells(400_000), "cells.xlsx"),
        (lambda: hostile_files.xlsx_sheets_sharing_one(50, 40_000), "sheets.xlsx"),
    ],
)
async def test_spreadsheet_bombs_are_bounded(
    make_provider: Callable[..., LLMProvider], make: Callable[[], bytes], name: str
) -> None:
    # 200 000 blank rows, 400 000 cells, 50 sheets that are all one 40 000-cell sheet:
    # each stops at the cell (blank ones counted) or sheet cap.
    provider = make_provider(media=MediaSettings(document_max_cells=50_000, document_max_sheets=5))
    doc = await provider.aread_document(make(), XLSX, name)
    assert doc.cut and doc.format == "xlsx"
    assert doc.markdown.count("## Sheet:") <= 5
    assert doc.markdown.count("\n|") <= 50_000


async def test_parser_failures_are_damaged_files_with_an_event(
    provider: LLMProvider, sink: InMemoryUsageSink
) -> None:
    with pytest.raises(DocumentUnreadable) as malformed:
        await provider.aread_document(hostile_files.malformed_docx(), DOCX, "bad.docx")
    assert malformed.value.reason == "broken"
    with pytest.raises(DocumentUnreadable) as deep:
        await provider.aread_document(hostile_files.deep_html(5000), "text/html", "deep.html")
    assert deep.value.reason == "broken"
    assert _errors(sink) == ["document_unreadable", "document_unreadable"]


async def test_a_stuck_reader_is_killed_at_the_timeout(
    make_provider: Callable[..., LLMProvider],
    sink: InMemoryUsageSink,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("llmdoor.media.documents.convert", spinner)
    provider = make_provider(media=MediaSettings(document_timeout=3.0))
    pid_file = tmp_path / "pid"
    with pytest.raises(DocumentUnreadable) as caught:
        await provider.aread_document(str(pid_file).encode(), "application/pdf", "x.pdf")
    assert caught.value.reason == "timeout"
    pid = int(pid_file.read_text())
    assert pid != os.getpid()  # it ran in a child, not in a thread of ours
    for _ in range(50):
        if not _alive(pid):
            break
        await asyncio.sleep(0.1)
    assert not _alive(pid)  # killed, not abandoned
    assert _errors(sink) == ["document_unreadable"]


async def test_a_reader_over_its_memory_is_stopped(
    make_provider: Callable[..., LLMProvider],
    sink: InMemoryUsageSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("llmdoor.media.documents.convert", hog)
    provider = make_provider(media=MediaSettings(document_memory_mb=256))
    with pytest.raises(DocumentTooComplex) as caught:
        await provider.aread_document(b"%PDF-1.4 whatever", "application/pdf", "x.pdf")
    assert caught.value.reason == "memory"
    assert _errors(sink) == ["document_too_complex"]


async def test_one_user_reads_at_most_n_files_at_once(
    make_provider: Callable[..., LLMProvider],
    sink: InMemoryUsageSink,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr("llmdoor.media.documents.convert", sleeper)
    provider = make_provider(
        media=MediaSettings(document_timeout=2.0, document_per_user=2, document_workers=3)
    )

    async def read(n: int, user: int) -> BaseException | None:
        path = str(tmp_path / f"pid{user}-{n}").encode()
        try:
            await provider.aread_document(path, "application/pdf", "x.pdf", user_id=user)
        except (DocumentBusy, DocumentUnreadable) as exc:
            return exc
        return None

    own = [asyncio.create_task(read(n, 1)) for n in range(3)]
    await asyncio.sleep(0.2)
    other = asyncio.create_task(read(0, 2))
    outcomes = await asyncio.gather(*own, other)
    busy = [o for o in outcomes if isinstance(o, DocumentBusy)]
    assert len(busy) == 1 and busy[0].limit == 2
    assert isinstance(outcomes[-1], DocumentUnreadable)  # another user is not refused
    assert _errors(sink).count("document_busy") == 1
