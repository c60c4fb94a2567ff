"""Broad exception handlers stay few, and each says why it is there.

The rule (STYLE.md, "Errors"): a library boundary raises typed errors and callers catch
those; ``except Exception`` only where foreign code can raise anything (through one helper
per foreign library where possible: ``llmdoor.runtime.tolerating`` for litellm's look-ups,
``llmdoor.calls.error_mapping.typed_errors`` for its calls), or in the outermost loop of a
task that must survive anything. A broad handler is a bare ``except:``, ``except
Exception`` or ``except BaseException`` (alone or in a tuple); each needs a comment on its
own line giving the reason.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (ROOT / "app", ROOT / "packages" / "llmdoor" / "llmdoor")
BROAD = frozenset({"Exception", "BaseException"})
MAX_BROAD = 12
# A reason is words, not a bare marker (a noqa, type or pragma comment says nothing).
MIN_REASON_WORDS = 4
MARKERS = ("noqa", "type:", "pragma:")


@dataclass(frozen=True)
class Handler:
    where: str  # path:line
    line: str  # the source line, stripped
    comment: str | None  # the comment on that line, without "#"

    def __str__(self) -> str:
        return f"{self.where}: {self.line}"


def _is_broad(node: ast.ExceptHandler) -> bool:
    if node.type is None:
        return True
    names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
    return any(isinstance(name, ast.Name) and name.id in BROAD for name in names)


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment on it, without the "#"."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0]: t.string[1:].strip() for t in tokens if t.type == tokenize.COMMENT}


def broad_handlers() -> list[Handler]:
    found = []
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines()
            comments = _comments(source)
            for node in ast.walk(ast.parse(source, str(path))):
                if isinstance(node, ast.ExceptHandler) and _is_broad(node):
                    found.append(
                        Handler(
                            f"{path.relative_to(ROOT)}:{node.lineno}",
                            lines[node.lineno - 1].strip(),
                            comments.get(node.lineno),
                        )
                    )
    return sorted(found, key=lambda h: h.where)


def _has_reason(comment: str | None) -> bool:
    if comment is None or comment.lower().startswith(MARKERS):
        return False
    return len(comment.split()) >= MIN_REASON_WORDS


def test_the_counter_finds_every_kind_of_broad_handler() -> None:
    source = (
        "try:\n    pass\nexcept:\n    pass\n"
        "try:\n    pass\nexcept Exception:  # a reason of some words\n    pass\n"
        "try:\n    pass\nexcept (ValueError, BaseException) as exc:\n    pass\n"
        "try:\n    pass\nexcept ValueError:\n    pass\n"
    )
    handlers = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ExceptHandler)]
    assert [_is_broad(h) for h in handlers] == [True, True, True, False]
    assert _comments(source) == {7: "a reason of some words"}
    assert _has_reason("a reason of some words")
    assert not _has_reason(None)
    assert not _has_reason("noqa: BLE001 because of things")
    assert not _has_reason("see below")


def test_broad_excepts_are_few() -> None:
    handlers = broad_handlers()
    listing = "\n".join(f"  {h}" for h in handlers)
    assert len(handlers) <= MAX_BROAD, (
        f"{len(handlers)} broad exception handlers, at most {MAX_BROAD} allowed: catch the "
        f"types the code can raise, or route foreign calls through their library's helper."
        f"\n{listing}"
    )


def test_each_broad_except_says_why() -> None:
    silent = [h for h in broad_handlers() if not _has_reason(h.comment)]
    listing = "\n".join(f"  {h}" for h in silent)
    assert not silent, (
        "broad exception handlers without a reason in a comment on the same line "
        f"(`except Exception:  # <why foreign code can raise anything here>`):\n{listing}"
    )
