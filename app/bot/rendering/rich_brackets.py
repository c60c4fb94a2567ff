"""LaTeX's ``\\(...\\)`` and ``\\[...\\]`` delimiters as markdown-it rules.

Their own rules rather than ``mdit_py_plugins.texmath`` (brackets): that plugin's block rule
accepts a ``\\]`` in the middle of a line and then drops the rest of that line, and its rule
names collide with ``dollarmath``'s. These produce the same tokens as ``dollarmath``
(``math_inline``, ``math_block``), so one converter handles both.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

__all__ = ["brackets_math_plugin"]


def _inline(state: StateInline, silent: bool) -> bool:
    """``\\(x\\)`` inside a paragraph: closed within the same inline run, not empty."""
    start = state.pos
    if not state.src.startswith("\\(", start):
        return False
    close = state.src.find("\\)", start + 2, state.posMax)
    if close < 0 or not state.src[start + 2 : close].strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = state.src[start + 2 : close]
        token.markup = "\\("
    state.pos = close + 2
    return True


def _line(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """``\\[`` at the start of a line, ``\\]`` at the end of the same or a later line of the
    same container; a line with text after its ``\\]`` is no formula (nothing is dropped)."""
    if state.is_code_block(start):
        return False
    first = _line(state, start).rstrip()
    if not first.startswith("\\["):
        return False
    body = first[2:]
    last = start
    if body.endswith("\\]"):
        content = body[:-2]
    else:
        lines = [body]
        last = start + 1
        while last < end:
            text = _line(state, last).rstrip()
            if text and state.sCount[last] < state.blkIndent:
                return False  # the container ended first
            if text.endswith("\\]"):
                lines.append(text[:-2])
                break
            lines.append(text)
            last += 1
        else:
            return False
        content = "\n".join(lines)
    if not content.strip():
        return False
    if silent:
        return True
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = content
    token.markup = "\\["
    token.map = [start, last + 1]
    state.line = last + 1
    return True


def brackets_math_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("escape", "math_inline_brackets", _inline)
    md.block.ruler.before(
        "fence",
        "math_block_brackets",
        _block,
        {"alt": ["paragraph", "reference", "blockquote", "list"]},
    )
