"""Converters from file formats to Markdown, each on a maintained library: pypdf for PDF
(a section per page), python-docx for DOCX, openpyxl for XLSX (a section per sheet),
markdownify for HTML, the csv module for CSV. Plain text and source code are decoded and
kept as they are (code in a fenced block).

Pure functions on bytes, run in a worker thread by llmdoor.media.documents; they raise the typed
document errors and nothing else."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llmdoor.errors import DocumentEncrypted, DocumentUnreadable, UnsupportedDocument

# OLE compound files: legacy .doc/.xls, and password-protected OOXML (DOCX, XLSX).
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

CODE_EXTENSIONS = {
    "py": "python", "js": "javascript", "ts": "typescript", "tsx": "tsx", "jsx": "jsx",
    "java": "java", "kt": "kotlin", "go": "go", "rs": "rust", "c": "c", "h": "c",
    "cpp": "cpp", "hpp": "cpp", "cc": "cpp", "cs": "csharp", "rb": "ruby", "php": "php",
    "swift": "swift", "scala": "scala", "sh": "bash", "bash": "bash", "sql": "sql",
    "json": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml", "xml": "xml",
    "css": "css", "lua": "lua", "r": "r", "pl": "perl", "ini": "ini", "dockerfile": "dockerfile",
}  # fmt: skip
TEXT_EXTENSIONS = {"txt", "md", "markdown", "rst", "log", "text"}


@dataclass(frozen=True)
class Converted:
    markdown: str
    format: str  # "pdf", "docx", "xlsx", "html", "csv", "text", "code"
    converter: str  # the library that read it (for the usage event)
    pages: int | None = None  # pages in the file (PDF)
    pages_read: int | None = None  # fewer than pages: cut at the page cap


def extension_of(filename: str | None) -> str:
    name = (filename or "").lower().rsplit("/", 1)[-1]
    if name == "dockerfile":
        return "dockerfile"
    return name.rsplit(".", 1)[1] if "." in name else ""


def detect(data: bytes, mime_type: str | None, filename: str | None) -> str:
    """The format to read the file as, by content first, then type, then extension."""
    mime = (mime_type or "").lower().split(";")[0].strip()
    ext = extension_of(filename)
    if data.startswith(b"%PDF") or mime == "application/pdf" or ext == "pdf":
        return "pdf"
    if ext == "docx" or mime.endswith("wordprocessingml.document"):
        return "docx"
    if ext in ("xlsx", "xlsm") or mime.endswith("spreadsheetml.sheet"):
        return "xlsx"
    if ext in ("html", "htm") or mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if ext == "csv" or mime in ("text/csv", "application/csv"):
        return "csv"
    if ext in CODE_EXTENSIONS:
        return "code"
    if ext in TEXT_EXTENSIONS or mime.startswith("text/") or mime in ("application/json",):
        return "text"
    if not ext and not mime and _looks_textual(data):
        return "text"
    raise UnsupportedDocument(f"Files of type {mime or ext or 'unknown'} are not read.")


def _looks_textual(data: bytes) -> bool:
    return b"\x00" not in data[:4096]


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedDocument("This looks like a binary file, not text.")
    for encoding in (
        ("utf-8-sig", "utf-16")
        if data.startswith((b"\xff\xfe", b"\xfe\xff"))
        else ("utf-8-sig", "cp1251")
    ):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


# ---- PDF ---------------------------------------------------------------------------


def read_pdf(data: bytes, max_pages: int) -> Converted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only: they open.
            try:
                opened = reader.decrypt("")
            except (NotImplementedError, PyPdfError) as exc:
                raise DocumentEncrypted(str(exc)) from None
            if not opened:
                raise DocumentEncrypted("The PDF needs a password.")
        total = len(reader.pages)
        parts: list[str] = []
        for number, page in enumerate(reader.pages, start=1):
            if number > max_pages:
                break
            text = (page.extract_text() or "").strip()
            parts.append(f"## Page {number}\n\n{text}" if text else f"## Page {number}\n")
    except FileNotDecryptedError as exc:
        raise DocumentEncrypted(str(exc)) from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentUnreadable(f"The PDF is broken: {type(exc).__name__}") from None
    if not any(p.split("\n", 1)[1].strip() for p in parts if "\n" in p):
        raise DocumentUnreadable("The PDF has no text layer (a scan?).", reason="no_text")
    return Converted("\n\n".join(parts), "pdf", "pypdf", total, min(total, max_pages))


# ---- DOCX --------------------------------------------------------------------------


def _docx_blocks(document: Any) -> Iterator[Any]:
    """Paragraphs and tables in document order (python-docx lists them apart)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document)
        elif tag == "tbl":
            yield Table(child, document)


def _paragraph_md(paragraph: Any) -> str:
    text = paragraph.text.strip()
    if not text:
        return ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return f"# {text}"
    if style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        depth = int(level) if level.isdigit() else 1
        return f"{'#' * min(depth + 1, 6)} {text}"
    if style.startswith("List Number"):
        return f"1. {text}"
    if style.startswith("List"):
        return f"- {text}"
    return text


def markdown_table(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    cells = [[c.replace("|", "\\|").replace("\n", " ") for c in r] + [""] * (width - len(r))
             for r in rows]  # fmt: skip
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def read_docx(data: bytes) -> Converted:
    if data.startswith(OLE_MAGIC):
        raise DocumentEncrypted("The DOCX is protected by a password.")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        for block in _docx_blocks(document):
            if hasattr(block, "rows"):
                rows = [[cell.text.strip() for cell in row.cells] for row in block.rows]
                parts.append(markdown_table(rows))
            else:
                parts.append(_paragraph_md(block))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DocumentUnreadable(f"The DOCX is broken: {type(exc).__name__}") from None
    text = "\n\n".join(p for p in parts if p)
    if not text.strip():
        raise DocumentUnreadable("The document has no text.", reason="no_text")
    return Converted(text, "docx", "python-docx")


# ---- XLSX --------------------------------------------------------------------------

MAX_SHEET_ROWS = 5000  # per sheet; a note says when a sheet had more


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def read_xlsx(data: bytes) -> Converted:
    if data.startswith(OLE_MAGIC):
        raise DocumentEncrypted("The workbook is protected by a password.")
    from openpyxl import load_workbook

    try:
        # read_only streams rows; data_only gives the values formulas last computed.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise DocumentUnreadable(f"The workbook is broken: {type(exc).__name__}") from None
    parts: list[str] = []
    try:
        for sheet in book.worksheets:
            rows: list[list[str]] = []
            more = False
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell(v) for v in row]
                if not any(c.strip() for c in cells):
                    continue
                if len(rows) == MAX_SHEET_ROWS:
                    more = True
                    break
                rows.append(cells)
            body = markdown_table(rows) if rows else "(empty)"
            note = f"\n\n(only the first {MAX_SHEET_ROWS} rows)" if more else ""
            parts.append(f"## Sheet: {sheet.title}\n\n{body}{note}")
    finally:
        book.close()
    return Converted("\n\n".join(parts), "xlsx", "openpyxl")


# ---- HTML, CSV, text, code ---------------------------------------------------------


def read_html(data: bytes) -> Converted:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(decode_text(data), "html.parser")
    # Scripts, styles and templates hold no reading text; markdownify would keep their code.
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    text = MarkdownConverter(heading_style="ATX").convert_soup(soup)
    lines = [line.rstrip() for line in text.splitlines()]
    # markdownify keeps the blank lines of the source layout; runs of them are noise.
    cleaned = "\n".join(lines)
    while "\n\n\n" in cleaned:
        cleaned = cleaned.replace("\n\n\n", "\n\n")
    return Converted(cleaned.strip(), "html", "markdownify")


def read_csv(data: bytes) -> Converted:
    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    return Converted(markdown_table(rows), "csv", "csv")


def read_text(data: bytes, filename: str | None, as_code: bool) -> Converted:
    text = decode_text(data).strip()
    if as_code:
        language = CODE_EXTENSIONS.get(extension_of(filename), "")
        fence = "````" if "```" in text else "```"
        return Converted(f"{fence}{language}\n{text}\n{fence}", "code", "text")
    return Converted(text, "text", "text")


def convert(data: bytes, mime_type: str | None, filename: str | None, max_pages: int) -> Converted:
    kind = detect(data, mime_type, filename)
    readers: dict[str, Callable[[], Converted]] = {
        "pdf": lambda: read_pdf(data, max_pages),
        "docx": lambda: read_docx(data),
        "xlsx": lambda: read_xlsx(data),
        "html": lambda: read_html(data),
        "csv": lambda: read_csv(data),
        "code": lambda: read_text(data, filename, as_code=True),
        "text": lambda: read_text(data, filename, as_code=False),
    }
    result = readers[kind]()
    if not result.markdown.strip():
        raise DocumentUnreadable("The file has no text.", reason="no_text")
    return result
