"""The bot's own wheel, as `uv build` makes it (sdist, then the wheel from the sdist): it
carries its compiled locales as app/locales, and `python -m app --help` runs from a fresh
virtualenv with nothing of this checkout on the path.

Marked ``package`` like tests/test_provider_package.py (it builds wheels and fills a venv
from uv's cache: tens of seconds); it needs uv and fails, never skips, without it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600
SETTING_PREFIXES = ("LLM_", "ACCESS_", "OPENAI_", "TELEGRAM_", "MONGODB_", "WEBHOOK_", "BOT_")

pytestmark = [pytest.mark.package, pytest.mark.timeout(1800)]

I18N_PROBE = """
import json, sys
import app.bot.i18n as i18n
catalogs = i18n.create_i18n()
with catalogs.context(), catalogs.use_locale("ru"):
    hello = catalogs.gettext("Start a new conversation")
print(json.dumps({"dir": str(i18n.LOCALES_DIR), "locales": sorted(catalogs.available_locales),
                  "ru": hello}))
"""


def _uv() -> str:
    found = shutil.which("uv") or os.environ.get("UV")
    if not found or not Path(found).exists():
        pytest.fail("uv is not on PATH: install it (as .ci/run does); CI must run this test.")
    return found


def _run(args: list[str], *, cwd: Path = ROOT, env: dict[str, str]) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{args[:3]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_the_bot_wheel_carries_its_locales_and_runs_help(tmp_path: Path) -> None:
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(SETTING_PREFIXES)}
    env.pop("PYTHONPATH", None)
    dist = tmp_path / "dist"
    _run([uv, "build", "-o", str(dist)], env=env)  # the sdist, then the wheel from it
    _run([uv, "build", "--package", "llmdoor", "--wheel", "-o", str(dist)], env=env)
    (bot_wheel,) = dist.glob("tg_llm_bot-*.whl")
    (provider_wheel,) = dist.glob("llmdoor-*.whl")
    names = zipfile.ZipFile(bot_wheel).namelist()
    for lang in ("en", "ru"):
        assert f"app/locales/{lang}/LC_MESSAGES/messages.mo" in names, names

    constraints = tmp_path / "constraints.txt"
    _run(
        [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-workspace",
         "--no-header", "--no-annotate", "-o", str(constraints)],
        env=env,
    )  # fmt: skip
    venv = tmp_path / "venv"
    _run([uv, "venv", "--python", sys.executable, str(venv)], env=env)
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "--python", str(python), "-c", str(constraints)]
    wheels = [str(bot_wheel), f"llmdoor[all] @ {provider_wheel.as_uri()}"]
    proc = subprocess.run(
        [*install, "--offline", *wheels], env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip
    if proc.returncode != 0:  # uv's cache was pruned: the same pinned versions, fetched
        _run([*install, *wheels], env=env)

    away = tmp_path / "elsewhere"  # neither this checkout nor the venv
    away.mkdir()
    usage = _run([str(python), "-m", "app", "--help"], cwd=away, env=env)
    assert usage.startswith("usage: python -m app") and "130" in usage
    probe = _run([str(python), "-c", I18N_PROBE], cwd=away, env=env)
    found = json.loads(probe)
    assert Path(found["dir"]).is_relative_to(venv), found
    assert found["locales"] == ["en", "ru"]
    assert found["ru"] == "Начать новый разговор"
