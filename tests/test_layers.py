"""The layering holds: imports run only downwards (bot -> access -> storage -> llm), and the
domain services speak no Telegram (app/access and app import no aiogram)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(APP.parent))] = names
    return found


def _offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{file}: {name}"
        for file, names in _imports(APP / package).items()
        for name in sorted(names)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("llm", ("app.bot", "app.access", "app.storage", "app.config", "aiogram")),
        ("storage", ("app.bot", "app.access", "app.config")),
        ("access", ("app.bot", "app.config", "aiogram", "aiogram_dialog")),
        ("bot/services", ("aiogram", "aiogram_dialog")),
    ],
)
def test_imports_run_only_downwards(package: str, forbidden: tuple[str, ...]) -> None:
    assert _imports(APP / package), f"nothing found under app/{package}"
    assert _offending(package, forbidden) == []
