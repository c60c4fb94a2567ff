"""What a deployment may not use is imported only when first needed: importing every module
of the bot and of llmdoor, and warming litellm, loads none of the heavy optional libraries
(charts, PDF and office documents, audio, MCP, page extraction). Each costs megabytes of
RSS in every process that merely could use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "matplotlib",
    "numpy",
    "PIL",
    "pypdf",
    "docx",
    "openpyxl",
    "bs4",
    "markdownify",
    "av",
    "py3langid",
    "mcp",
    "jsonschema",
    "trafilatura",
    "lxml",
)

SCRIPT = """
import importlib, pkgutil, sys
import app, llmdoor
for package in (app, llmdoor):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
llmdoor.warm_up()
print(" ".join(sorted(m for m in %r if m in sys.modules)))
"""


def test_no_heavy_optional_library_is_imported_up_front() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout
