"""Rendering: tricky model output, UTF-16 offsets, splitting that loses nothing."""

from __future__ import annotations

import random
import re

import pytest
from aiogram.types import MessageEntity

from app.bot.rendering.markdown import (
    RenderedPart,
    render_markdown,
    render_plain,
    render_preview,
    utf16_len,
)


def covered(text: str, e: MessageEntity) -> str:
    """The text an entity covers, cut in UTF-16 units as Telegram does."""
    raw = text.encode("utf-16-le")
    return raw[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le")


def one(md: str) -> RenderedPart:
    parts = render_markdown(md)
    assert len(parts) == 1, parts
    return parts[0]


def types_of(part: RenderedPart) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in part.entities:
        out.setdefault(e.type, []).append(covered(part.text, e))
    return out


def test_fenced_code_block_with_language() -> None:
    md = "Here:\n\n```python\ndef f(a, b):\n    return a < b and '*' != \"<x>\"\n```\nDone."
    part = one(md)
    assert part.text.startswith("Here:\n\ndef f(a, b):")
    assert part.text.endswith("Done.")
    (pre,) = part.entities
    assert pre.type == "pre" and pre.language == "python"
    assert covered(part.text, pre) == "def f(a, b):\n    return a < b and '*' != \"<x>\""


def test_inline_code_keeps_lt_and_star() -> None:
    part = one("Use `a < b * c` and `<div>` here.")
    assert part.text == "Use a < b * c and <div> here."
    assert types_of(part) == {"code": ["a < b * c", "<div>"]}


def test_table_becomes_monospace_block() -> None:
    part = one("| Name | Value |\n|---|---|\n| a | **1** |\n| b<c | 2 |")
    assert [e.type for e in part.entities] == ["pre"]
    assert "Name | Value" in part.text and "b<c" in part.text
    assert "|---|" not in part.text


def test_nested_lists() -> None:
    part = one("- one\n  - two\n    - three *it*\n1. first\n2. second\n   1. sub")
    lines = part.text.split("\n")
    assert lines[0].endswith("one") and lines[1].startswith("  ") and lines[2].startswith("    ")
    assert "1. first" in part.text and "2. second" in part.text
    assert types_of(part) == {"italic": ["it"]}


@pytest.mark.parametrize(
    "md",
    [
        "1. Install 😀\n   ```bash\n   pip install x\n   ```\n2. next",
        "- **Install**:\n  ```bash\n  pip install x\n  ```\n- Run it",
        "Intro:\n- Install:\n  ```bash\n  pip install x\n  ```",
    ],
)
def test_code_block_in_list_item_starts_on_its_own_line(md: str) -> None:
    part = one(md)
    (pre,) = [e for e in part.entities if e.type == "pre"]
    assert covered(part.text, pre) == "pip install x"
    assert part.text.encode("utf-16-le")[2 * pre.offset - 2 :].startswith("\n".encode("utf-16-le"))
    for e in part.entities:
        assert covered(part.text, e).strip() == covered(part.text, e) or e.type == "pre"


def test_headings_are_bold() -> None:
    part = one("# Title\n## Sub\nText")
    assert "Title" in part.text and "Sub" in part.text and "#" not in part.text
    assert types_of(part)["bold"] == ["Title", "Sub"]


def test_nested_bold_italic() -> None:
    part = one("**bold *italic* bold** and ***both*** ~~gone~~")
    assert part.text == "bold italic bold and both gone"
    t = types_of(part)
    assert t["bold"] == ["bold italic bold", "both"]
    assert sorted(t["italic"]) == ["both", "italic"]
    assert t["strikethrough"] == ["gone"]


def test_links() -> None:
    part = one("See [docs](https://example.com/a?b=1&c=2) and <https://x.org>")
    assert part.text == "See docs and https://x.org"
    urls = [(covered(part.text, e), e.url) for e in part.entities if e.type == "text_link"]
    assert urls == [("docs", "https://example.com/a?b=1&c=2"), ("https://x.org", "https://x.org")]


def test_latex_becomes_unicode() -> None:
    part = one("Fraction $\\frac{a}{b}$ and display \\[ x^2 + \\alpha \\]")
    assert "\\frac" not in part.text and "a/b" in part.text
    assert "x² + α" in part.text


@pytest.mark.parametrize(
    ("md", "visible"),
    [
        ("If a < b and c > d then a <= b", "If a < b and c > d then a <= b"),
        ("<script>alert(1)</script> after", "<script>alert(1)</script> after"),
        ("Use Vec<T> here", "Use Vec<T> here"),
        ("<div>\n<b>hi</b>\n</div>", "<div>\n<b>hi</b>\n</div>"),
        ("x <!-- note --> y", "x <!-- note --> y"),
    ],
)
def test_raw_html_is_shown_literally_not_dropped(md: str, visible: str) -> None:
    part = one(md)
    assert part.text == visible
    assert part.entities == []


def test_html_entities_are_decoded_like_commonmark() -> None:
    # CommonMark semantics: `&amp;` means "&"; there is no parse mode, so nothing to escape.
    assert one("Tom &amp; Jerry &lt;3").text == "Tom & Jerry <3"


def test_emoji_and_non_bmp_offsets_are_utf16() -> None:
    part = one("😀 **bold 😀 text** `𝔘𝔫𝔦` and 👨‍👩‍👧 *it*")
    t = types_of(part)
    assert t == {"bold": ["bold 😀 text"], "code": ["𝔘𝔫𝔦"], "italic": ["it"]}
    bold = part.entities[0]
    assert bold.offset == 3  # "😀 " is 3 UTF-16 units, 2 Python chars
    assert bold.length == 12


def test_unfinished_fence_renders_as_pre() -> None:
    part = one("Text\n```python\nprint('hi')\nx = 1")
    assert types_of(part) == {"pre": ["print('hi')\nx = 1"]}


def test_lone_bold_marker_stays_literal() -> None:
    assert one("Some **bold text without close").text == "Some **bold text without close"


@pytest.mark.parametrize("md", ["", "   ", "\n\n"])
def test_empty_input(md: str) -> None:
    assert render_markdown(md) == []
    assert render_preview(md).text == ""


def test_never_raises_and_falls_back_to_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.bot.rendering.markdown as rendering

    def boom(md: str) -> tuple[str, list[MessageEntity]]:
        raise RuntimeError("converter bug")

    monkeypatch.setattr(rendering, "_convert", boom)
    parts = render_markdown("**x** " * 10, limit=20)
    assert all(p.entities == [] for p in parts)
    assert "".join(p.text for p in parts).replace(" ", "") == "**x**" * 10


@pytest.mark.parametrize(
    "md",
    ["```", "**", "`", "[", "[a](", "$", "\\[", "|a|\n|-", "> ", "- ", "1.", "\x00", "\ud800"],
)
def test_weird_prefixes_do_not_raise(md: str) -> None:
    render_markdown(md)
    render_preview(md)
    render_plain(md)


# -- splitting -------------------------------------------------------------------------------


def test_code_block_longer_than_limit_is_split_and_stays_pre() -> None:
    code = "\n".join(f"    line_{i} = {i} * 2  # 😀" for i in range(400))
    md = f"Intro paragraph.\n\n```python\n{code}\n```\n\nOutro."
    parts = render_markdown(md, limit=4096)
    assert len(parts) >= 3
    pres = [e for p in parts for e in p.entities if e.type == "pre"]
    assert len(pres) == len([p for p in parts if "line_" in p.text])
    assert all(e.language == "python" for e in pres)
    for p in parts:
        assert utf16_len(p.text) <= 4096
        for e in p.entities:
            # Split at line boundaries: each piece of code is whole lines, indentation kept.
            assert covered(p.text, e).startswith("    line_")
    assert_nothing_lost(md, parts)


def test_split_prefers_paragraphs_then_lines_then_sentences() -> None:
    text = "aaaa bbbb. cccc\ndddd\n\neeee"
    assert render_plain(text, 11) == ["aaaa bbbb.", "cccc\ndddd", "eeee"]
    assert render_plain("one two three", 8) == ["one two", "three"]
    assert render_plain("x" * 10, 4) == ["xxxx", "xxxx", "xx"]


def test_split_avoids_cutting_inside_an_entity() -> None:
    md = "intro words here **bold words that must stay together** tail"
    parts = render_markdown(md, limit=45)
    bold = [covered(p.text, e) for p in parts for e in p.entities]
    assert bold == ["bold words that must stay together"]


def test_hard_cut_never_splits_surrogate_pairs_or_zwj() -> None:
    family = "👨\u200d👩\u200d👧"
    parts = render_plain(family * 10, 9)
    assert "".join(parts) == family * 10
    for p in parts:
        assert utf16_len(p) <= 9
        p.encode("utf-8")  # would raise on a lone surrogate


def test_preview_shows_the_part_being_written() -> None:
    md = "first " * 1000 + "\n\nthe latest sentence"
    preview = render_preview(md, limit=4096)
    assert preview.text.endswith("the latest sentence")
    assert utf16_len(preview.text) <= 4096


def visible_units(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_nothing_lost(md: str, parts: list[RenderedPart], limit: int = 4096) -> None:
    """Parts are the whole rendering cut at whitespace, with every entity clipped correctly."""
    (whole,) = render_markdown(md, limit=10**9)
    cursor = 0
    whole_u16 = whole.text.encode("utf-16-le")
    expected_entities: set[tuple[str, int, int, str | None]] = set()
    got_entities: set[tuple[str, int, int, str | None]] = set()
    for part in parts:
        assert part.text.strip(), "empty part"
        assert utf16_len(part.text) <= limit
        start = whole.text.find(part.text, cursor)
        assert start >= 0, f"part not found in order: {part.text[:40]!r}"
        assert whole.text[cursor:start].strip() == "", "text dropped between parts"
        cursor = start + len(part.text)
        u_start = utf16_len(whole.text[:start])
        u_end = u_start + utf16_len(part.text)
        for e in part.entities:
            assert e.length > 0 and e.offset >= 0 and e.offset + e.length <= utf16_len(part.text)
            got_entities.add((e.type, u_start + e.offset, e.length, e.language or e.url))
        for e in whole.entities:
            s, t = max(e.offset, u_start), min(e.offset + e.length, u_end)
            if t > s:
                expected_entities.add((e.type, s, t - s, e.language or e.url))
    assert whole.text[cursor:].strip() == "", "tail dropped"
    assert got_entities == expected_entities
    assert len(whole_u16) // 2 == utf16_len(whole.text)
    assert visible_units("".join(p.text for p in parts)) == visible_units(whole.text)


_WORDS = ["alpha", "бета", "γάμμα", "😀", "𝔘𝔫𝔦", "👨\u200d👩\u200d👧", "a<b", "x*y", "中文字"]
_BLOCKS = [
    lambda r, w: " ".join(r.choice(_WORDS) for _ in range(r.randint(1, 80))) + ".",
    lambda r, w: f"**{w()}** and *{w()}* and `{w()}` and [link](https://e.com/{r.randint(0, 9)})",
    lambda r, w: "```py\n" + "\n".join("  " + w() for _ in range(r.randint(1, 60))) + "\n```",
    lambda r, w: "\n".join(f"- {w()}\n  - {w()}" for _ in range(r.randint(1, 8))),
    lambda r, w: "# " + w(),
    lambda r, w: "| a | b |\n|---|---|\n" + "\n".join(f"| {w()} | {w()} |" for _ in range(5)),
    lambda r, w: "> " + w() + "\n> " + w(),
    lambda r, w: "x" * r.randint(1, 5000),  # one long word: hard cuts
    lambda r, w: "😀" * r.randint(1, 3000),  # non-BMP only: hard cuts in UTF-16
    lambda r, w: "$\\frac{a}{b}$ " + w(),
]


def generate(seed: int) -> str:
    r = random.Random(seed)

    def w() -> str:
        return " ".join(r.choice(_WORDS) for _ in range(r.randint(1, 6)))

    return "\n\n".join(r.choice(_BLOCKS)(r, w) for _ in range(r.randint(1, 40)))


@pytest.mark.parametrize("seed", range(60))
def test_split_property_nothing_lost(seed: int) -> None:
    md = generate(seed)
    limit = random.Random(seed).choice([64, 300, 1000, 4096])
    parts = render_markdown(md, limit=limit)
    assert_nothing_lost(md, parts, limit)
    plain = render_plain(md, limit)
    assert all(utf16_len(p) <= limit for p in plain)
    assert visible_units("".join(plain)) == visible_units(md)


def long_answer() -> str:
    sections = []
    for i in range(12):
        lines = 300 if i == 5 else 20  # one code block longer than a piece
        code = "\n".join(f"    value_{j} = compute({j}, '<{i}>')" for j in range(lines))
        sections.append(
            f"## Section {i}\n\nSome **bold** text and `code` with a [link](https://e.x/{i}).\n\n"
            f"- item one\n- item *two*\n  - nested\n\n"
            f"| a | b |\n|---|---|\n| {i} | x<y |\n\n"
            f"```python\n{code}\n```\n\n> a quote {i}\n"
        )
    return "\n".join(sections)


def test_long_answers_render_in_pieces_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces bound the converter's cost; on ordinary answers they change nothing."""
    import app.bot.rendering.pieces as render_pieces

    md = long_answer()
    cut = render_pieces.pieces(md)
    assert len(cut) >= 3 and any(p.cuts_code for p in cut)
    pieces = render_markdown(md)
    monkeypatch.setattr(render_pieces, "PIECE_CHARS", 10**9)
    whole = render_markdown(md)
    assert [p.text for p in pieces] == [p.text for p in whole]
    assert [p.entities for p in pieces] == [p.entities for p in whole]
