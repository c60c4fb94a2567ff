"""What does the tool loop cost per round, beside the raw model calls? (prints, never asserts)

    uv run python bench/tools_bench.py [--answers 100]

Each answer is two model rounds against the local fake OpenAI server over real HTTP: the
first asks for a tool (``add``), the second answers. Three ways, same replies:
- raw: litellm.acompletion streamed by hand, the tool called and the messages extended by
  hand (the least a caller must do);
- events: ``aquery_llm_events`` without tools, two calls (the provider's own cost per call:
  access, budget, retry, usage event);
- loop: ``aquery_llm_events(..., tools=[add])``, the whole loop in one call.
Printed: ms per round for each and the ratios; "loop overhead" is loop minus raw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmdoor import (  # noqa: E402
    InMemoryUsageSink,
    LLMProvider,
    LLMSettings,
    as_tool,
    ensure_loaded,
    litellm_module,
)
from tests.fakes.openai_server import FakeOpenAI, Reply  # noqa: E402

MODEL = "openai/gpt-4o-mini"  # priced: cost lookup and budget estimate included


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _replies(answers: int) -> list[Reply]:
    ask = Reply(tool_calls=[{"id": "c1", "name": "add", "arguments": {"a": 2, "b": 3}}])
    return [r for _ in range(answers) for r in (ask, Reply(text="2 + 3 = 5"))]


async def raw_answer(fake: FakeOpenAI) -> None:
    lit = litellm_module()
    schema = [as_tool(add).schema()]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "2+3?"}]
    common = {"model": MODEL, "api_base": fake.base_url, "api_key": "sk-bench", "stream": True}
    calls: dict[int, dict[str, str]] = {}
    stream = await lit.acompletion(messages=messages, tools=schema, **common)
    async for chunk in stream:
        for part in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(part.index or 0, {"id": "", "name": "", "arguments": ""})
            call["id"] = part.id or call["id"]
            call["name"] += part.function.name or ""
            call["arguments"] += part.function.arguments or ""
    tool_calls = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for c in calls.values()
    ]
    messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
    for c in calls.values():
        result = add(**json.loads(c["arguments"]))
        messages.append({"role": "tool", "tool_call_id": c["id"], "content": str(result)})
    stream = await lit.acompletion(messages=messages, tools=schema, **common)
    async for _chunk in stream:
        pass


async def events_twice(provider: LLMProvider) -> None:
    for _ in range(2):
        async for _event in provider.aquery_llm_events("2+3?", MODEL, user_id=1):
            pass


async def loop_answer(provider: LLMProvider) -> None:
    async for _event in provider.aquery_llm_events("2+3?", MODEL, user_id=1, tools=[add]):
        pass


async def per_round_ms(fake: FakeOpenAI, run: Any, answers: int) -> float:
    fake.reset()
    fake.script(*_replies(answers))
    start = time.perf_counter()
    for _ in range(answers):
        await run()
    return (time.perf_counter() - start) / (answers * 2) * 1000


async def main(answers: int) -> None:
    await ensure_loaded()
    with FakeOpenAI() as fake:
        provider = LLMProvider(
            LLMSettings(default_model=MODEL, api_base=fake.base_url, api_key="sk-bench"),
            usage_sink=InMemoryUsageSink(),
        )
        warm = max(3, answers // 10)
        for run in (
            lambda: raw_answer(fake),
            lambda: events_twice(provider),
            lambda: loop_answer(provider),
        ):
            await per_round_ms(fake, run, warm)  # imports, connections, caches
        results: dict[str, list[float]] = {"raw": [], "events": [], "loop": []}
        for _ in range(3):  # interleaved, so machine noise hits all three alike
            results["raw"].append(await per_round_ms(fake, lambda: raw_answer(fake), answers))
            results["events"].append(
                await per_round_ms(fake, lambda: events_twice(provider), answers)
            )
            results["loop"].append(await per_round_ms(fake, lambda: loop_answer(provider), answers))
    best = {k: min(v) for k, v in results.items()}
    print(f"answers per run: {answers} (2 rounds each), best of 3 runs, ms per round")
    for name in ("raw", "events", "loop"):
        print(f"  {name:7s} {best[name]:7.2f} ms/round")
    print(f"  loop / raw     = {best['loop'] / best['raw']:.2f}x")
    print(f"  loop / events  = {best['loop'] / best['events']:.2f}x")
    print(f"  loop overhead  = {best['loop'] - best['raw']:+.2f} ms/round over raw")
    print(f"  of which loop  = {best['loop'] - best['events']:+.2f} ms/round over plain events")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=100)
    asyncio.run(main(parser.parse_args().answers))
