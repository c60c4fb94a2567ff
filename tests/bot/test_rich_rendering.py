"""Rich messages from model Markdown: blocks per construct, the documented limits, splitting at
block boundaries that loses no text, streaming drafts, degraded input."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from aiogram.types import (
    InputRichBlockDetails,
    InputRichBlockList,
    InputRichBlockMathematicalExpression,
    InputRichBlockParagraph,
    InputRichBlockPreformatted,
    InputRichBlockSectionHeading,
    InputRichBlockTable,
    InputRichBlockThinking,
    InputRichMessage,
)
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

from app.bot.rendering.rich import (
    RICH_LIMITS,
    RichLimits,
    rich_draft,
    rich_parts,
    rich_plain_text,
)
from app.bot.rendering.rich_brackets import brackets_math_plugin
from app.bot.rendering.rich_split import message_size

UNLIMITED = RichLimits(max_chars=10**9, max_blocks=10**9)

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _tables(blocks: list[Any]) -> list[InputRichBlockTable]:
    out: list[InputRichBlockTable] = []
    for b in blocks:
        if isinstance(b, InputRichBlockTable):
            out.append(b)
        for child in getattr(b, "blocks", None) or ():
            out.extend(_tables([child]))
        for item in getattr(b, "items", None) or ():
            out.extend(_tables(item.blocks))
    return out


def assert_valid(message: InputRichMessage, limits: RichLimits = RICH_LIMITS) -> None:
    """Within the limits, and the wire form parses back into the same message."""
    size = message_size(message)
    assert message.blocks, "an empty rich message"
    assert size.chars <= limits.max_chars, size
    assert size.blocks <= limits.max_blocks, size
    assert size.depth <= limits.max_depth, size
    for table in _tables(message.blocks):
        assert all(len(row) <= limits.max_table_columns for row in table.cells)
    wire = message.model_dump(mode="json", exclude_none=True)
    assert InputRichMessage.model_validate(wire) == message
    json.dumps(wire)


def norm(text: str) -> str:
    return "".join(text.split())


_REF = MarkdownIt("commonmark", {"html": False, "maxNesting": 120}).enable(
    ["table", "strikethrough"]
)
_REF.use(
    dollarmath_plugin,
    allow_space=False,
    allow_digits=False,
    allow_blank_lines=False,
    double_inline=True,
)
_REF.use(brackets_math_plugin)


def source_text(md: str) -> str:
    """The text of a Markdown document (what a reader sees), straight from the parser's
    tokens: text, code, formulas."""
    out: list[str] = []
    for tok in _REF.parse(md):
        if tok.type in ("fence", "code_block") or tok.type.startswith("math_block"):
            out.append(tok.content)
        for child in tok.children or ():
            if child.type in ("text", "code_inline") or child.type.startswith("math_inline"):
                out.append(child.content)
    return "".join(out)


def all_text(parts: list[InputRichMessage]) -> str:
    return "".join(rich_plain_text(p) for p in parts)


_SECTION = """## Step {n}: configure the service

The service reads its settings from **environment variables**; a value such as `LOG_LEVEL=debug`
turns on *verbose* logging, and ~~the old flag~~ is gone. See [the docs](https://example.com/{n}).

| Option | Default | Type | Required | Meaning |
|:--|:-:|--:|---|---|
| `PORT` | 8080 | int | no | listening port |
| `HOST` | 0.0.0.0 | str | no | bind address |
| `TOKEN` | — | str | yes | the bot token from @BotFather |

The expected latency follows

$$
T(n) = \\sum_{{i=1}}^{{n}} \\frac{{1}}{{i^2}} \\le \\frac{{\\pi^2}}{{6}}
$$

```python
def retry(fn, attempts: int = 3):
    for i in range(attempts):
        try:
            return fn()
        except OSError:
            continue
```

1. Prepare the host:
   - install Python 3.11
     - with `uv` or `pyenv`
   - open the port
2. Start the service and watch the logs.

> Note: restart after every change.
"""


def model_answer(min_chars: int) -> str:
    parts = ["# Deployment guide\n\nA complete walkthrough follows.\n"]
    n = 1
    while len("\n".join(parts)) < min_chars:
        parts.append(_SECTION.format(n=n))
        n += 1
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Whole answers
# --------------------------------------------------------------------------------------------


def test_a_12k_answer_is_one_message_with_native_tables_and_formulas() -> None:
    md = model_answer(12_000)
    assert 12_000 <= len(md) < 13_500
    parts = rich_parts(md)
    assert len(parts) == 1
    assert_valid(parts[0])
    blocks = parts[0].blocks or []
    assert isinstance(blocks[0], InputRichBlockSectionHeading) and blocks[0].size == 1
    tables = [b for b in blocks if isinstance(b, InputRichBlockTable)]
    assert tables and all(len(row) == 5 for t in tables for row in t.cells)
    assert all(c.is_header for c in tables[0].cells[0])
    assert [c.align for c in tables[0].cells[1]] == ["left", "center", "right", "left", "left"]
    formulas = [b for b in blocks if isinstance(b, InputRichBlockMathematicalExpression)]
    assert formulas and formulas[0].expression.startswith("T(n) = \\sum_{i=1}")
    code = [b for b in blocks if isinstance(b, InputRichBlockPreformatted)]
    assert code and code[0].language == "python" and "def retry" in str(code[0].text)
    lists = [b for b in blocks if isinstance(b, InputRichBlockList)]
    nested = lists[0].items[0].blocks[1]
    assert isinstance(nested, InputRichBlockList)
    assert isinstance(nested.items[0].blocks[1], InputRichBlockList)  # three levels
    assert lists[0].items[1].value == 2 and lists[0].items[1].type == "1"
    assert norm(all_text(parts)) == norm(source_text(md))


def test_a_40k_answer_splits_only_between_blocks_and_loses_nothing() -> None:
    md = model_answer(40_000)
    parts = rich_parts(md)
    assert len(parts) >= 2
    for part in parts:
        assert_valid(part)
    whole = rich_parts(md, limits=UNLIMITED)
    assert len(whole) == 1
    # The parts are the whole answer's top-level blocks, in order, none of them cut.
    assert [b for p in parts for b in p.blocks or []] == whole[0].blocks
    assert norm(all_text(parts)) == norm(source_text(md))
    for part in parts[:-1]:  # no message ends with a heading whose text is in the next one
        assert not isinstance((part.blocks or [])[-1], InputRichBlockSectionHeading)


def test_reasoning_is_a_collapsed_details_block_at_the_start_of_the_first_message_only() -> None:
    md = model_answer(40_000)
    reasoning = "First I weigh the options.\n\nThen I pick **uv** over pip."
    parts = rich_parts(md, reasoning=reasoning, reasoning_label="Thoughts")
    details = (parts[0].blocks or [])[0]
    assert isinstance(details, InputRichBlockDetails)
    assert details.summary == "Thoughts" and not details.is_open
    assert [b.text for b in details.blocks] == [  # type: ignore[union-attr]
        "First I weigh the options.",
        "Then I pick **uv** over pip.",
    ]
    rest = [b for b in parts[0].blocks or []][1:] + [b for p in parts[1:] for b in p.blocks or []]
    assert not any(isinstance(b, InputRichBlockDetails) for b in rest)
    answer_text = "".join(rich_plain_text(InputRichMessage(blocks=rest)))
    assert "weigh the options" not in answer_text
    assert norm(answer_text) == norm(source_text(md))
    for part in parts:
        assert_valid(part)


def test_huge_reasoning_is_elided_in_the_middle_to_fit_the_first_message() -> None:
    reasoning = "\n\n".join(f"thought {i} " + "x" * 200 for i in range(1000))
    parts = rich_parts("The answer.", reasoning=reasoning)
    for part in parts:
        assert_valid(part)
    text = rich_plain_text(parts[0])
    assert "thought 0 " in text and "thought 999 " in text and "…" in text


# --------------------------------------------------------------------------------------------
# Oversized blocks
# --------------------------------------------------------------------------------------------


def test_a_table_with_25_columns_becomes_its_markdown_source_as_code() -> None:
    header = "| " + " | ".join(f"c{i}" for i in range(25)) + " |"
    rule = "|" + "---|" * 25
    row = "| " + " | ".join(str(i) for i in range(25)) + " |"
    md = f"Wide:\n\n{header}\n{rule}\n{row}\n"
    [part] = rich_parts(md)
    assert_valid(part)
    pre = (part.blocks or [])[1]
    assert isinstance(pre, InputRichBlockPreformatted) and pre.language == "markdown"
    assert pre.text == f"{header}\n{rule}\n{row}"


def test_a_2000_row_table_becomes_several_tables_repeating_the_header() -> None:
    lines = ["| id | name | score |", "|---|---|---|"]
    lines += [f"| {i} | row{i} | {i * 7} |" for i in range(2000)]
    parts = rich_parts("\n".join(lines))
    tables = [t for p in parts for t in _tables(p.blocks or [])]
    assert len(tables) >= 5
    for part in parts:
        assert_valid(part)
    for t in tables:
        assert [c.text for c in t.cells[0]] == ["id", "name", "score"]
        assert all(c.is_header for c in t.cells[0])
    ids = [row[0].text for t in tables for row in t.cells[1:]]
    assert ids == [str(i) for i in range(2000)]


def test_a_100k_code_block_is_cut_at_line_ends_into_preformatted_blocks() -> None:
    code_lines = [f"value_{i:06d} = compute({i})  # step" for i in range(2800)]
    code = "\n".join(code_lines)
    assert len(code) >= 100_000
    parts = rich_parts(f"Code:\n\n```python\n{code}\n```\n\nDone.")
    assert len(parts) >= 4
    for part in parts:
        assert_valid(part)
    pres = [b for p in parts for b in p.blocks or [] if isinstance(b, InputRichBlockPreformatted)]
    assert all(p.language == "python" for p in pres)
    assert "\n".join(str(p.text) for p in pres) == code  # cut at line ends, nothing lost


def test_a_huge_paragraph_is_cut_into_paragraphs() -> None:
    md = " ".join(f"word{i}" for i in range(12_000)) + " **end**"
    parts = rich_parts(md)
    for part in parts:
        assert_valid(part)
    assert norm(all_text(parts)) == norm(source_text(md))


def test_20_deep_nested_lists_are_flattened_within_the_depth_limit() -> None:
    md = "\n".join("  " * i + f"- level {i} *em*" for i in range(20))
    [part] = rich_parts(md)
    assert_valid(part)
    text = rich_plain_text(part)
    assert all(f"level {i} em" in text for i in range(20))
    deep = RichLimits(max_depth=40)
    [deeper] = rich_parts(md, limits=deep)
    assert message_size(deeper).depth > message_size(part).depth  # the deep one nests more
    assert_valid(deeper, deep)


def test_a_long_list_splits_between_items_keeping_the_numbers() -> None:
    md = "\n".join(f"{i}. item {i}" for i in range(1, 701))
    parts = rich_parts(md)
    assert len(parts) >= 3
    for part in parts:
        assert_valid(part)
    values = [
        item.value
        for p in parts
        for b in p.blocks or []
        for item in b.items  # type: ignore[union-attr]
    ]
    assert values == list(range(1, 701))


# --------------------------------------------------------------------------------------------
# Degrading, never losing
# --------------------------------------------------------------------------------------------


def test_money_dollars_are_text_and_real_formulas_are_formulas() -> None:
    [part] = rich_parts("It costs $5 and $10, or $5-$10 total.\n\nArea is $\\pi r^2$ here.")
    assert_valid(part)
    first, second = part.blocks or []
    assert first.text == "It costs $5 and $10, or $5-$10 total."  # type: ignore[union-attr]
    dumped = json.dumps(second.model_dump(mode="json"))
    assert '"expression": "\\\\pi r^2"' in dumped
    [brackets] = rich_parts("Inline \\(a+b\\) and\n\n\\[\nx^2\n\\]\n")
    kinds = [b.type for b in brackets.blocks or []]
    assert kinds == ["paragraph", "mathematical_expression"]


def test_raw_html_is_shown_as_literal_text() -> None:
    md = "Use <b>bold</b> or Vec<T> & <script>alert(1)</script>\n\n<div>\nblock\n</div>"
    [part] = rich_parts(md)
    assert_valid(part)
    text = rich_plain_text(part)
    assert "<b>bold</b>" in text and "Vec<T>" in text and "<script>alert(1)</script>" in text
    assert "<div>" in text and "block" in text


def test_stray_markers_and_unbalanced_fences_keep_every_character() -> None:
    md = "a * b _c d** e `f\n\n~~~\nunclosed code *x*"
    [part] = rich_parts(md)
    assert_valid(part)
    text = rich_plain_text(part)
    assert "a * b _c d** e `f" in text and "unclosed code *x*" in text


def test_links_to_odd_targets_keep_the_target_as_text() -> None:
    [part] = rich_parts("[docs](/relative/path) and [ok](https://a.example) and ![pic](x.png)")
    text = rich_plain_text(part)
    assert "docs (/relative/path)" in text and "pic (x.png)" in text
    dumped = json.dumps(part.model_dump(mode="json"))
    assert '"url": "https://a.example"' in dumped


def test_empty_answer_gives_no_message() -> None:
    assert rich_parts("   \n") == []


# --------------------------------------------------------------------------------------------
# Drafts
# --------------------------------------------------------------------------------------------


def test_draft_renders_an_unterminated_fence_as_code_so_far() -> None:
    d = rich_draft("Here:\n\n```python\ndef f():\n    return 1")
    assert_valid(d)
    pre = (d.blocks or [])[-1]
    assert isinstance(pre, InputRichBlockPreformatted)
    assert pre.text == "def f():\n    return 1" and pre.language == "python"


def test_draft_renders_the_complete_rows_of_a_half_table() -> None:
    d = rich_draft("| a | b |\n|---|---|\n| 1 | 2 |\n| 3")
    assert_valid(d)
    [table] = _tables(d.blocks or [])
    assert [[c.text for c in row] for row in table.cells] == [["a", "b"], ["1", "2"], ["3", ""]]
    # Only a header so far: shown as text until the delimiter row arrives.
    assert "| a | b |" in rich_plain_text(rich_draft("| a | b |\n|--"))


def test_draft_with_thinking_starts_with_a_thinking_block_holding_the_reasoning() -> None:
    d = rich_draft("", thinking=True, reasoning_so_far="Let me think about it.")
    assert_valid(d)
    [block] = d.blocks or []
    assert isinstance(block, InputRichBlockThinking)
    assert "Let me think about it." in rich_plain_text(d)
    d = rich_draft("Partial **ans", thinking=True)
    first, second = d.blocks or []
    assert isinstance(first, InputRichBlockThinking)
    assert isinstance(second, InputRichBlockParagraph) and second.text == "Partial **ans"
    d = rich_draft("Answer", reasoning_so_far="done thinking")
    assert isinstance((d.blocks or [])[0], InputRichBlockDetails)


def test_a_long_draft_keeps_its_start_and_end_around_an_ellipsis() -> None:
    md = model_answer(80_000)
    d = rich_draft(md, thinking=True, reasoning_so_far="r" * 50_000)
    assert_valid(d)
    blocks = d.blocks or []
    assert isinstance(blocks[0], InputRichBlockThinking)
    assert any(isinstance(b, InputRichBlockParagraph) and b.text == "…" for b in blocks)
    text = rich_plain_text(d)
    assert "Deployment guide" in text  # the start
    assert "restart after every change" in text.splitlines()[-1]  # the end


def test_empty_draft_is_never_empty() -> None:
    assert_valid(rich_draft(""))


# --------------------------------------------------------------------------------------------
# Property: random Markdown-ish input
# --------------------------------------------------------------------------------------------

_PIECES = [
    "word", "Word2", " ", " ", "\n", "\n\n", "*", "**", "_", "__", "~~", "`", "```", "~~~",
    "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\", "#", "## ", "> ", "- ", "* ", "1. ", "  ",
    "    ", "|", "| a | b |\n|---|---|\n", "---\n", "[", "]", "(", ")", "![", "<b>", "</b>",
    "<", ">", "x^2", "{", "}", "é", "中文", "😀", "\t", "-", "+",
]  # fmt: skip


def _letters(text: str) -> Counter[str]:
    return Counter(c for c in text if c.isalpha())


def _wire_letters(message: InputRichMessage) -> Counter[str]:
    counts: Counter[str] = Counter()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("text", "expression", "language", "summary"):
            counts.update(_letters(value))

    walk(message.model_dump(mode="json", exclude_none=True))
    return counts


def test_random_markdownish_input_never_raises_stays_within_limits_and_keeps_letters() -> None:
    rng = random.Random(20260611)
    small = RichLimits(max_chars=400, max_blocks=12, max_depth=8, max_table_columns=3)
    for _ in range(300):
        md = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 120)))
        for limits in (RICH_LIMITS, small):
            parts = rich_parts(md, limits=limits)
            for part in parts:
                assert_valid(part, limits)
            got: Counter[str] = Counter()
            for part in parts:
                got += _wire_letters(part)
            assert not (_letters(md) - got), (md, _letters(md) - got)
            draft = rich_draft(md, thinking=rng.random() < 0.5, limits=limits)
            assert_valid(draft, limits)
