"""litellm's per-call INFO lines stay out of an application logging at INFO; its warnings
still show, and at DEBUG everything does."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, sys
logging.basicConfig(level=getattr(logging, sys.argv[1]), stream=sys.stderr)
from llmdoor.runtime import _litellm
lit = _litellm()
lit.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
               mock_response="ok")
logging.getLogger("LiteLLM").warning("a litellm warning")
"""


def run_at(level: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, level],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stderr


def test_a_model_call_logs_no_litellm_info_line_at_info() -> None:
    stderr = run_at("INFO")
    assert "LiteLLM completion()" not in stderr
    assert "a litellm warning" in stderr


def test_debug_logging_keeps_litellm_details() -> None:
    assert "LiteLLM completion()" in run_at("DEBUG")
