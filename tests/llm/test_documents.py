"""read_document: real PDF, DOCX, HTML, CSV, text and code files into Markdown with their
structure; caps on size, pages and time; typed errors for encrypted, broken and
unsupported files; one usage event of kind "document" per call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from llmdoor import (
    DocumentEncrypted,
    DocumentTooLarge,
    DocumentUnreadable,
    InMemoryUsageSink,
    LLMProvider,
    MediaSettings,
    UnsupportedDocument,
    cut_to_tokens,
)
from llmdoor.media import formats as document_formats
from tests.media.files import broken_pdf, make_docx, make_pdf, make_xlsx
from tests.media.stuck_readers import sleeper

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def test_pdf_keeps_its_pages(provider: LLMProvider, sink: InMemoryUsageSink) -> None:
    data = make_pdf(["Alpha page text.", "Beta page text.", "Gamma page text."])
    doc = await provider.aread_document(data, "application/pdf", "abc.pdf")
    assert doc.format == "pdf" and doc.pages == 3 and not doc.truncated
    assert doc.markdown.index("## Page 1") < doc.markdown.index("Alpha page text.")
    assert doc.markdown.index("## Page 3") < doc.markdown.index("Gamma page text.")
    (event,) = sink.events
    assert event.kind == "document" and event.model == "local/pypdf"
    assert event.cost_usd == 0.0 and event.outcome == "ok"


async def test_page_cap_reads_the_first_pages_and_says_so(provider: LLMProvider) -> None:
    data = make_pdf([f"Page number {i}." for i in range(1, 8)])
    doc = await provider.aread_document(data, "application/pdf", "long.pdf", max_pages=3)
    assert doc.pages == 7 and doc.pages_read == 3 and doc.truncated
    assert "Page number 3." in doc.markdown and "Page number 4." not in doc.markdown


async def test_docx_headings_lists_and_tables_become_markdown(provider: LLMProvider) -> None:
    data = make_docx(
        "Handbook",
        [("Setup", "Install the tools."), ("Usage", "Run the bot.")],
        table=[["Command", "Meaning"], ["/new", "fresh start"]],
    )
    doc = await asyncio.to_thread(provider.read_document, data, DOCX, "handbook.docx")
    assert doc.format == "docx"
    assert doc.markdown.splitlines()[0] == "# Handbook"
    assert "## Setup\n\nInstall the tools." in doc.markdown
    assert "| Command | Meaning |\n| --- | --- |\n| /new | fresh start |" in doc.markdown


async def test_xlsx_has_one_section_per_sheet(provider: LLMProvider) -> None:
    data = make_xlsx(
        {
            "Budget": [["Item", "Cost"], ["Ferry", 12], ["Hotel", 80.5]],
            "Notes": [["Bring a raincoat"]],
        }
    )
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    doc = await provider.aread_document(data, mime, "trip.xlsx")
    assert doc.format == "xlsx"
    assert doc.markdown == (
        "## Sheet: Budget\n\n| Item | Cost |\n| --- | --- |\n| Ferry | 12 |\n| Hotel | 80.5 |"
        "\n\n## Sheet: Notes\n\n| Bring a raincoat |\n| --- |"
    )
    with pytest.raises(DocumentUnreadable):
        await provider.aread_document(b"PK\x03\x04broken", mime, "broken.xlsx")


async def test_html_csv_text_and_code(provider: LLMProvider) -> None:
    html = (
        b"<html><body><h1>Title</h1><p>Some <b>bold</b> text.</p><script>x()</script></body></html>"
    )
    doc = await provider.aread_document(html, "text/html", "page.html")
    assert "# Title" in doc.markdown and "**bold**" in doc.markdown and "x()" not in doc.markdown
    doc = await provider.aread_document(b"name;score\nAnn;9\nBob;7\n", "text/csv", "s.csv")
    assert doc.markdown.splitlines()[:3] == ["| name | score |", "| --- | --- |", "| Ann | 9 |"]
    doc = await provider.aread_document("Привет, мир".encode("cp1251"), None, "note.txt")
    assert doc.markdown == "Привет, мир" and doc.format == "text"
    doc = await provider.aread_document(b"def f():\n    return 1\n", None, "f.py")
    assert doc.markdown == "```python\ndef f():\n    return 1\n```" and doc.format == "code"


async def test_encrypted_broken_unsupported_and_oversized_are_typed(
    make_provider: Callable[..., LLMProvider], sink: InMemoryUsageSink
) -> None:
    provider = make_provider(media=MediaSettings(document_max_bytes=50_000))
    locked = make_pdf(["secret"], user_password="pw")
    with pytest.raises(DocumentEncrypted):
        await provider.aread_document(locked, "application/pdf", "locked.pdf")
    # An empty user password is no protection: such PDFs open.
    opened = await provider.aread_document(make_pdf(["open"], user_password=""), None, "o.pdf")
    assert "open" in opened.markdown
    with pytest.raises(DocumentUnreadable) as broken:
        await provider.aread_document(broken_pdf(), "application/pdf", "broken.pdf")
    assert broken.value.reason == "broken"
    with pytest.raises(DocumentUnreadable):
        await provider.aread_document(b"PK\x03\x04garbage", DOCX, "broken.docx")
    with pytest.raises(DocumentEncrypted):  # password-protected OOXML is an OLE container
        await provider.aread_document(document_formats.OLE_MAGIC + b"\x00" * 64, DOCX, "l.docx")
    with pytest.raises(UnsupportedDocument):
        await provider.aread_document(b"\x00\x01\x02binary", "application/zip", "a.zip")
    with pytest.raises(DocumentTooLarge) as large:
        await provider.aread_document(b"x" * 60_000, "text/plain", "big.txt")
    assert large.value.limit == 50_000
    kinds = [(e.kind, e.outcome, e.error_kind) for e in sink.events]
    assert ("document", "error", "document_encrypted") in kinds
    assert ("document", "error", "document_unreadable") in kinds
    assert ("document", "error", "document_unsupported") in kinds
    # One rule: after access, every refusal is recorded, the oversized one too.
    assert kinds[-1] == ("document", "error", "document_too_large")
    assert len(kinds) == 7  # 6 refusals and the one PDF that opened


async def test_a_slow_conversion_is_cut_off_by_the_timeout(
    make_provider: Callable[..., LLMProvider], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The reader runs in a child process (llmdoor.media.isolation), so the stand-in is a
    # module-level function the child can import.
    monkeypatch.setattr("llmdoor.media.documents.convert", sleeper)
    provider = make_provider(media=MediaSettings(document_timeout=0.5))
    with pytest.raises(DocumentUnreadable) as caught:
        await provider.aread_document(str(tmp_path / "pid").encode(), "application/pdf", "a.pdf")
    assert caught.value.reason == "timeout"


def test_cut_to_tokens_keeps_whole_words_within_the_budget() -> None:
    text = " ".join(f"word{i}" for i in range(5000))
    cut, was_cut = cut_to_tokens(text, "openai/gpt-4o-mini", 500)
    assert was_cut and 0 < len(cut) < len(text)
    assert text.startswith(cut) and text[len(cut)] == " "
    whole, not_cut = cut_to_tokens("short text", "openai/gpt-4o-mini", 500)
    assert whole == "short text" and not not_cut
