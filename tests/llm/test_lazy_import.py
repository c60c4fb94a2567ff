from __future__ import annotations

import subprocess
import sys


def test_importing_app_llm_does_not_import_litellm() -> None:
    code = (
        "import app.llm, sys; "
        "assert 'litellm' not in sys.modules, 'litellm imported eagerly'; "
        "app.llm.resolve_model('gpt-4o'); app.llm.LLMProvider(); "
        "assert 'litellm' not in sys.modules, 'resolve_model imported litellm'; "
        "import os; assert os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] == 'True'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_warm_up_loads_litellm() -> None:
    from app.llm import _litellm, warm_up

    warm_up()
    assert _litellm.is_loaded()


async def test_aclose_is_safe_to_call() -> None:
    from app.llm import aclose

    await aclose()
    await aclose()  # idempotent
