"""Converters from file formats to Markdown, each on a maintained library: pypdf for PDF
(a section per page), python-docx for DOCX, openpyxl for XLSX (a section per sheet),
markdownify for HTML, the csv module for CSV. Plain text and source code are decoded and
kept as they are (code in a fenced block).

Pure functions on bytes, run in a child process by llmdoor.media.isolation (killed on
timeout, with a memory limit); they raise the typed document errors, and the child maps
any other failure to "damaged". Each reader works within ``Caps``: an archive is judged by
its central directory before anything is expanded (total size, entries, ratio), and the
readers stop at the caps on paragraphs, cells, sheets, pages and characters, saying so in
``Converted.cut``."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmdoor.errors import (
    DocumentEncrypted,
    DocumentTooComplex,
    DocumentUnreadable,
    UnsupportedDocument,
)

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
class Caps:
    """What one document may cost to read (LLM_DOCUMENT_* settings)."""

    max_pages: int = 300
    max_expanded_bytes: int = 64 * 1024 * 1024  # all members of a DOCX/XLSX, expanded
    max_ratio: float = 100.0  # expanded / compressed, for members over RATIO_FLOOR bytes
    max_entries: int = 5000  # members of the archive
    max_paragraphs: int = 20_000
    max_cells: int = 200_000  # spreadsheet cells scanned (blank ones too) and table cells
    max_sheets: int = 20
    max_chars: int = 2_000_000  # of Markdown


# Small members compress well whatever they are; the ratio is judged on larger ones.
RATIO_FLOOR = 1024 * 1024
# Columns read per spreadsheet row (a sheet may claim 16 384): wider tables are unreadable
# as Markdown anyway.
MAX_COLUMNS = 64


@dataclass(frozen=True)
class Converted:
    markdown: str
    format: str  # "pdf", "docx", "xlsx", "html", "csv", "text", "code"
    converter: str  # the library that read it (for the usage event)
    pages: int | None = None  # pages in the file (PDF)
    pages_read: int | None = None  # fewer than pages: cut at the page cap
    cut: bool = False  # a cap (paragraphs, cells, sheets, characters) stopped the reading


class Budget:
    """Counts what a reader has taken against the caps; ``take`` says when to stop."""

    def __init__(self, caps: Caps) -> None:
        self.caps = caps
        self.paragraphs = 0
        self.cells = 0
        self.chars = 0
        self.cut = False

    def take(self, *, paragraphs: int = 0, cells: int = 0, chars: int = 0) -> bool:
        """Count; False (and ``cut``) once any cap is passed: stop reading."""
        self.paragraphs += paragraphs
        self.cells += cells
        self.chars += chars
        caps = self.caps
        if (
            self.paragraphs > caps.max_paragraphs
            or self.cells > caps.max_cells
            or self.chars > caps.max_chars
        ):
            self.cut = True
        return not self.cut


def check_archive(data: bytes, caps: Caps, what: str) -> None:
    """Judge a ZIP container by its central directory alone, before any member is
    expanded: too many members, too many bytes in all, or a member that expands more than
    ``max_ratio`` times is a bomb, refused. (zipfile never yields more than a member's
    declared size, so the declared sizes bound the real ones.)"""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DocumentUnreadable(f"The {what} is broken: {type(exc).__name__}") from None
    if len(members) > caps.max_entries:
        raise DocumentTooComplex(
            f"The {what} has {len(members)} parts; the limit is {caps.max_entries}.",
            reason="entries",
        )
    expanded = sum(m.file_size for m in members)
    if expanded > caps.max_expanded_bytes:
        raise DocumentTooComplex(
            f"The {what} expands to {expanded} bytes; the limit is {caps.max_expanded_bytes}.",
            reason="expanded",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR and ratio > caps.max_ratio:
            raise DocumentTooComplex(
                f"A part of the {what} expands {ratio:.0f} times; the limit is {caps.max_ratio:g}.",
                reason="ratio",
            )


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


def read_pdf(data: bytes, caps: Caps) -> Converted:
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
        max_pages = caps.max_pages
        budget = Budget(caps)
        parts: list[str] = []
        for number, page in enumerate(reader.pages, start=1):
            if number > max_pages or budget.cut:
                break
            text = (page.extract_text() or "").strip()
            parts.append(f"## Page {number}\n\n{text}" if text else f"## Page {number}\n")
            budget.take(chars=len(text))
    except FileNotDecryptedError as exc:
        raise DocumentEncrypted(str(exc)) from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentUnreadable(f"The PDF is broken: {type(exc).__name__}") from None
    if not any(p.split("\n", 1)[1].strip() for p in parts if "\n" in p):
        raise DocumentUnreadable("The PDF has no text layer (a scan?).", reason="no_text")
    read = len(parts)
    return Converted("\n\n".join(parts), "pdf", "pypdf", total, read, cut=budget.cut)


# ---- DOCX --------------------------------------------------------------------------


def _text_of(element: Any) -> str:
    """The text of a paragraph or table cell element, straight from its w:t runs (python-
    docx's table API rebuilds the whole grid for every row: quadratic on big tables)."""
    from docx.oxml.ns import qn

    paragraphs = element.iter(qn("w:p")) if element.tag != qn("w:p") else [element]
    return "\n".join("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in paragraphs)


def _style_names(document: Any) -> dict[str, str]:
    """Paragraph style id -> name, looked up once (python-docx searches the styles part
    for every paragraph: quadratic with many styles)."""
    from docx.styles import BabelFish

    names: dict[str, str] = {}
    for style in document.styles.element.style_lst:
        if style.styleId is not None:
            names[str(style.styleId)] = BabelFish.internal2ui(str(style.name_val or ""))
    return names


def _paragraph_md(element: Any, styles: dict[str, str]) -> str:
    text = _text_of(element).strip()
    if not text:
        return ""
    style_id = element.style  # CT_P.style: the w:pStyle value, or None
    style = styles.get(str(style_id), "") if style_id is not None else ""
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


def _docx_table(element: Any, budget: Budget) -> str:
    from docx.oxml.ns import qn

    rows: list[list[str]] = []
    for tr in element.iterchildren(qn("w:tr")):
        cells = list(tr.iterchildren(qn("w:tc")))
        if not budget.take(cells=max(len(cells), 1)):
            break
        row = [_text_of(tc).strip() for tc in cells]
        budget.take(chars=sum(len(c) for c in row))
        rows.append(row)
    return markdown_table(rows)


def read_docx(data: bytes, caps: Caps) -> Converted:
    if data.startswith(OLE_MAGIC):
        raise DocumentEncrypted("The DOCX is protected by a password.")
    check_archive(data, caps, "DOCX")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    budget = Budget(caps)
    try:
        document = docx.Document(io.BytesIO(data))
        styles = _style_names(document)
        parts: list[str] = []
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                if not budget.take(paragraphs=1):
                    break
                text = _paragraph_md(child, styles)
                budget.take(chars=len(text))
                parts.append(text)
            elif tag == "tbl":
                parts.append(_docx_table(child, budget))
            if budget.cut:
                break
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DocumentUnreadable(f"The DOCX is broken: {type(exc).__name__}") from None
    text = "\n\n".join(p for p in parts if p)
    if not text.strip():
        raise DocumentUnreadable("The document has no text.", reason="no_text")
    return Converted(text, "docx", "python-docx", cut=budget.cut)


# ---- XLSX --------------------------------------------------------------------------

MAX_SHEET_ROWS = 5000  # per sheet; a note says when a sheet had more


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def read_xlsx(data: bytes, caps: Caps) -> Converted:
    if data.startswith(OLE_MAGIC):
        raise DocumentEncrypted("The workbook is protected by a password.")
    check_archive(data, caps, "workbook")
    from openpyxl import load_workbook

    try:
        # read_only streams rows; data_only gives the values formulas last computed.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise DocumentUnreadable(f"The workbook is broken: {type(exc).__name__}") from None
    budget = Budget(caps)
    parts: list[str] = []
    try:
        sheets = book.worksheets
        for index, sheet in enumerate(sheets):
            if index >= caps.max_sheets or budget.cut:
                budget.cut = True
                break
            parts.append(_sheet_md(sheet, budget))
    finally:
        book.close()
    return Converted("\n\n".join(parts), "xlsx", "openpyxl", cut=budget.cut)


def _sheet_md(sheet: Any, budget: Budget) -> str:
    """One sheet as a table. Every row the reader yields counts against the cell cap, blank
    ones too (a sheet of 200 000 blank rows costs as much to walk as a full one), and a row
    is read at most MAX_COLUMNS wide."""
    claimed = sheet.max_column if isinstance(sheet.max_column, int) else MAX_COLUMNS
    width = max(1, min(claimed, MAX_COLUMNS))
    rows: list[list[str]] = []
    more = False
    for row in sheet.iter_rows(values_only=True, max_col=width):
        if not budget.take(cells=max(len(row), 1)):
            break
        cells = [_cell(v) for v in row]
        if not any(c.strip() for c in cells):
            continue
        if len(rows) == MAX_SHEET_ROWS:
            more = True
            break
        budget.take(chars=sum(len(c) for c in cells))
        rows.append(cells)
    used = max((i + 1 for r in rows for i, c in enumerate(r) if c.strip()), default=0)
    rows = [r[:used] for r in rows]
    body = markdown_table(rows) if rows else "(empty)"
    note = f"\n\n(only the first {MAX_SHEET_ROWS} rows)" if more else ""
    return f"## Sheet: {sheet.title}\n\n{body}{note}"


# ---- HTML, CSV, text, code ---------------------------------------------------------


def read_html(data: bytes, caps: Caps) -> Converted:
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
    cleaned = cleaned.strip()
    cut = len(cleaned) > caps.max_chars
    return Converted(cleaned[: caps.max_chars], "html", "markdownify", cut=cut)


def read_csv(data: bytes, caps: Caps) -> Converted:
    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    budget = Budget(caps)
    rows: list[list[str]] = []
    for row in csv.reader(io.StringIO(text), dialect):
        if not budget.take(cells=max(len(row), 1), chars=sum(len(c) for c in row)):
            break
        if any(c.strip() for c in row):
            rows.append(row)
    return Converted(markdown_table(rows), "csv", "csv", cut=budget.cut)


def read_text(data: bytes, filename: str | None, as_code: bool, caps: Caps) -> Converted:
    text = decode_text(data).strip()
    cut = len(text) > caps.max_chars
    text = text[: caps.max_chars]
    if as_code:
        language = CODE_EXTENSIONS.get(extension_of(filename), "")
        fence = "````" if "```" in text else "```"
        return Converted(f"{fence}{language}\n{text}\n{fence}", "code", "text", cut=cut)
    return Converted(text, "text", "text", cut=cut)


def convert(
    data: bytes, mime_type: str | None, filename: str | None, caps: Caps | int
) -> Converted:
    """The file as Markdown; ``caps`` may be a page cap alone (the other caps default)."""
    if isinstance(caps, int):
        caps = Caps(max_pages=caps)
    limits = caps
    kind = detect(data, mime_type, filename)
    readers: dict[str, Callable[[], Converted]] = {
        "pdf": lambda: read_pdf(data, limits),
        "docx": lambda: read_docx(data, limits),
        "xlsx": lambda: read_xlsx(data, limits),
        "html": lambda: read_html(data, limits),
        "csv": lambda: read_csv(data, limits),
        "code": lambda: read_text(data, filename, True, limits),
        "text": lambda: read_text(data, filename, False, limits),
    }
    result = readers[kind]()
    if not result.markdown.strip():
        raise DocumentUnreadable("The file has no text.", reason="no_text")
    return result
