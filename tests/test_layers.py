"""The house holds: import-linter's contracts (``[tool.importlinter]`` in pyproject.toml)
pass on the code, and each of them breaks when an import that it forbids is planted in a
copy of the code; the roots of the bot and of the provider stay small; no module imports
itself back through others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
PROVIDER = ROOT / "packages" / "llmdoor" / "llmdoor"
CONTRACTS = 5


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), f"{exe} is missing: import-linter is a development dependency"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        # Ahead of the editable installs, so the planted copy is the one analysed.
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(exe), "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_contract_is_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract", "named"),
    [
        (
            "app/storage/errors.py",
            "from app.bot import factory",
            "The bot's layers import only downwards",
            "app.storage.errors -> app.bot.factory",
        ),
        (
            "app/services/spend.py",
            "from app.config import Settings",
            "The bot's layers import only downwards",
            "app.services.spend -> app.config",
        ),
        (
            "llmdoor/errors.py",
            "import app.storage",
            "The provider imports nothing of the app",
            "llmdoor.errors -> app.storage",
        ),
        (
            "llmdoor/usage.py",
            "import aiogram",
            "The provider imports nothing of the app",
            "llmdoor.usage -> aiogram",
        ),
        (
            "app/access/throttle.py",
            "import aiogram",
            "No Telegram below the bot",
            "app.access.throttle -> aiogram",
        ),
        (
            "app/bot/i18n.py",
            "from llmdoor.calls import pipeline",
            "Outside the provider, only its top level",
            "app.bot.i18n -> llmdoor.calls",
        ),
        (
            "llmdoor/models/shortcuts.py",
            "from llmdoor.chat import history",
            "No circles between the modules and packages",
            ".models -> .chat",
        ),
        (
            "app/bot/rendering/pieces.py",
            "from app.bot.chat import sink",
            "No circles between the modules and packages",
            ".rendering -> .chat",
        ),
    ],
)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, contract: str, named: str
) -> None:
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROVIDER, tmp_path / "llmdoor", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _lint_imports(tmp_path, tmp_path).returncode == 0, "the copy must pass untouched"

    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{planted}  # planted by the test\n")
    result = _lint_imports(tmp_path, tmp_path)

    assert result.returncode != 0, result.stdout
    assert " 0 broken." not in result.stdout, result.stdout
    # An import can break more than one contract (aiogram in the provider is also aiogram
    # below the bot): the one it was planted against is among them.
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken, broken
    assert named in broken, broken  # the report names the planted import


def _modules_in_circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), over every import
    that runs when the code runs (not ``if TYPE_CHECKING:`` ones)."""
    graph = grimp.build_graph("app", "llmdoor", exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if m.split(".")[0] in ("app", "llmdoor"))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_back() -> None:
    assert _modules_in_circles() == []


def _root_modules(package: Path) -> list[str]:
    return sorted(p.name for p in package.glob("*.py"))


def test_the_roots_keep_only_what_belongs_there() -> None:
    # The bot's root: the factory, the workflow types and the few pieces every
    # capability shares; everything else lives in a folder named for what it does.
    assert len(_root_modules(APP / "bot")) <= 8, _root_modules(APP / "bot")
    assert len(_root_modules(PROVIDER)) <= 15, _root_modules(PROVIDER)


def test_the_provider_exports_every_name_it_lists() -> None:
    import llmdoor

    assert [name for name in llmdoor.__all__ if not hasattr(llmdoor, name)] == []
