from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_app_llm_does_not_import_litellm() -> None:
    code = (
        "import llmdoor, sys; "
        "assert 'litellm' not in sys.modules, 'litellm imported eagerly'; "
        "llmdoor.resolve_model('gpt-4o'); llmdoor.LLMProvider(); "
        "assert 'litellm' not in sys.modules, 'resolve_model imported litellm'; "
        "import os; assert os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] == 'True'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_warm_up_loads_litellm() -> None:
    from llmdoor import runtime as _litellm
    from llmdoor import warm_up

    warm_up()
    assert _litellm.is_loaded()


async def test_aclose_is_safe_to_call() -> None:
    from llmdoor import aclose

    await aclose()
    await aclose()  # idempotent


def test_waiting_for_a_warm_up_in_progress_does_not_block_the_event_loop() -> None:
    # The bot warms litellm in a thread at start-up; a chat message arriving meanwhile
    # must wait without freezing every other update. A blocked loop would tick 0 times.
    script = """
import asyncio
from llmdoor import ensure_loaded, warm_up

async def main():
    asyncio.get_running_loop().run_in_executor(None, warm_up)
    await asyncio.sleep(0.05)
    ticks = 0
    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1
    task = asyncio.create_task(ticker())
    await ensure_loaded()
    task.cancel()
    print(ticks)

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        cwd=ROOT,
        timeout=120,
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 0
