"""Hostile documents, small to send and costly to read: DOCX zip bombs, a DOCX whose XML is
malformed, deeply nested HTML, and spreadsheets of blank rows, of a million cells, or of
many sheets that all point at one big sheet. Built by rewriting members of a real file
(made by python-docx / openpyxl), so each opens as its format."""

from __future__ import annotations

import io
import zipfile

from tests.media.files import make_docx, make_xlsx

_P = '<w:p><w:r><w:t xml:space="preserve">{}</w:t></w:r></w:p>'
_BODY_OPEN = "<w:body>"


def _rewrite(data: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            body = replace.get(info.filename, source.read(info.filename))
            target.writestr(info.filename, body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def _document_xml(base: bytes, paragraphs: str) -> bytes:
    xml = zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml").decode()
    head, _, tail = xml.partition(_BODY_OPEN)
    return (head + _BODY_OPEN + paragraphs + tail).encode()


def docx_bomb(expanded_mb: int = 40) -> bytes:
    """A DOCX of ~50 KB whose document.xml expands to ``expanded_mb`` MB of paragraphs."""
    base = make_docx("Bomb", [])
    one = _P.format("all work and no play makes Jack a dull boy " * 4)
    count = expanded_mb * 1024 * 1024 // len(one)
    return _rewrite(base, {"word/document.xml": _document_xml(base, one * count)})


def docx_many_paragraphs(count: int) -> bytes:
    """Many short distinct paragraphs: compresses only a few times (not a ratio bomb)."""
    base = make_docx("Long", [])
    body = "".join(
        _P.format(f"line {i} {i * 7919 % 10007} {i * 104729 % 99991}") for i in range(count)
    )
    return _rewrite(base, {"word/document.xml": _document_xml(base, body)})


def malformed_docx() -> bytes:
    """A real DOCX whose document.xml is cut in the middle of a tag."""
    base = make_docx("Broken", [("Part", "text")])
    xml = zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml")
    return _rewrite(base, {"word/document.xml": xml[: len(xml) // 2]})


def deep_html(depth: int = 5000) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"


def _sheet_xml(rows: str, dimension: str = "A1") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def xlsx_blank_rows(count: int = 200_000) -> bytes:
    """One value, then ``count`` rows with nothing in them, then one more value."""
    base = make_xlsx({"Data": [["x"]]})
    rows = '<row r="1"><c r="A1" t="inlineStr"><is><t>first</t></is></c></row>'
    rows += "".join(f'<row r="{i}"/>' for i in range(2, count + 2))
    last = count + 2
    rows += f'<row r="{last}"><c r="A{last}" t="inlineStr"><is><t>last</t></is></c></row>'
    sheet = _sheet_xml(rows, f"A1:A{last}")
    return _rewrite(base, {"xl/worksheets/sheet1.xml": sheet})


def _cells_sheet(cells: int, width: int = 20) -> bytes:
    letters = [chr(ord("A") + i) for i in range(width)]
    rows = []
    for r in range(1, cells // width + 1):
        row = "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in letters)
        rows.append(f'<row r="{r}">{row}</row>')
    return _sheet_xml("".join(rows), f"A1:{letters[-1]}{cells // width}")


def xlsx_many_cells(cells: int = 1_000_000) -> bytes:
    base = make_xlsx({"Data": [["x"]]})
    return _rewrite(base, {"xl/worksheets/sheet1.xml": _cells_sheet(cells)})


def xlsx_sheets_sharing_one(sheets: int = 50, cells: int = 100_000) -> bytes:
    """``sheets`` sheets in the workbook, every one of them the same big sheet part."""
    base = make_xlsx({"Data": [["x"]]})
    archive = zipfile.ZipFile(io.BytesIO(base))
    workbook = archive.read("xl/workbook.xml").decode()
    rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    entries = "".join(
        '<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        f'name="S{i}" sheetId="{i + 10}" r:id="rIdShared{i}"/>'
        for i in range(sheets)
    )
    workbook = workbook.replace("</sheets>", entries + "</sheets>")
    targets = "".join(
        f'<Relationship Id="rIdShared{i}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="/xl/worksheets/sheet1.xml"/>'
        for i in range(sheets)
    )
    rels = rels.replace("</Relationships>", targets + "</Relationships>")
    return _rewrite(
        base,
        {
            "xl/workbook.xml": workbook.encode(),
            "xl/_rels/workbook.xml.rels": rels.encode(),
            "xl/worksheets/sheet1.xml": _cells_sheet(cells),
        },
    )
