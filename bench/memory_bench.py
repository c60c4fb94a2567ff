"""What personal memory and summaries cost in tokens (issue 30). Prints, never asserts.

    uv run python bench/memory_bench.py [--model gpt-4o-mini]

- memory: the prompt tokens the facts add to every call in a private chat (0, 10 and 50
  facts of about 60 characters, the default MEMORY_CONTEXT_BUDGET budget), and what the
  ``remember`` tool's schema adds when MEMORY_AUTO is on;
- summary: one fold of a conversation that outgrew CONVERSATIONS_SUMMARY_AT=4000 tokens,
  and of one that outgrew three quarters of a 128k window: the summary call's prompt
  tokens and price, against what the folded turns cost when sent with every later call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services.memory.service import MemoryService  # noqa: E402
from app.services.memory.settings import MemorySettings  # noqa: E402
from app.services.memory.summaries import (  # noqa: E402
    KEEP_SHARE,
    SUMMARY_MAX_TOKENS,
    SUMMARY_PROMPT,
    fold_point,
    fold_text,
)
from app.services.memory.tool import DESCRIPTION, NAME, PARAMETERS  # noqa: E402
from app.storage import Turn, UserRecord, open_memory_storage  # noqa: E402
from app.storage.base import DEFAULT_MAX_TURNS  # noqa: E402
from llmdoor import litellm_module, warm_up  # noqa: E402

FACT = "My daughter Anna is 7 and goes to school in Oslo; she loves horses"  # ~60 chars


def tokens(model: str, text: str) -> int:
    lit = litellm_module()
    return int(lit.token_counter(model=model, text=text))


def price(model: str, prompt: int, completion: int) -> float:
    lit = litellm_module()
    cost_in, cost_out = lit.cost_per_token(
        model=model, prompt_tokens=prompt, completion_tokens=completion
    )
    return float(cost_in + cost_out)


async def bench_memory(model: str) -> None:
    print(f"memory: prompt tokens added to every private call ({model} tokenizer)")
    for count in (0, 10, 50):
        storage = open_memory_storage()
        memory = MemoryService(storage, MemorySettings(max_facts=50))
        for i in range(count):
            await memory.remember(1, f"{FACT} ({i})")
        context = await memory.context_for(UserRecord(user_id=1), private=True)
        added = tokens(model, "\n\n" + context.text) if context else 0
        kept = len(context.fact_ids) if context else 0
        print(f"  {count:2d} facts: +{added:4d} tokens ({kept} facts fit the budget)")
    schema = json.dumps(
        {
            "type": "function",
            "function": {"name": NAME, "description": DESCRIPTION, "parameters": PARAMETERS},
        }
    )
    print(f"  remember tool schema (MEMORY_AUTO=on): +{tokens(model, schema)} tokens per call")


def conversation(exchanges: int) -> list[Turn]:
    turns = []
    for i in range(exchanges):
        turns.append(Turn(role="user", content=f"Question {i}: " + "how do I tune this? " * 15))
        turns.append(
            Turn(role="assistant", content=f"Answer {i}: " + "you adjust the value. " * 60)
        )
    return turns


def bench_summary(model: str, limit: int, label: str) -> None:
    turns = conversation(400)
    sizes = [tokens(model, t.content) for t in turns]
    total, i = 0, 0
    # The conversation just outgrew the limit, or the turns storage keeps (200) by 3/4.
    while i < len(turns) and total <= limit and i <= int(DEFAULT_MAX_TURNS * 0.75):
        total += sizes[i]
        i += 1
    live, live_sizes = turns[:i], sizes[:i]
    cut = fold_point(live_sizes, live, int(limit * KEEP_SHARE))
    if i > int(DEFAULT_MAX_TURNS * 0.75):
        cut = max(cut, fold_point([1] * i, live, int(DEFAULT_MAX_TURNS * KEEP_SHARE)))
    prompt = SUMMARY_PROMPT.format(more="", previous="", turns=fold_text(live[:cut], limit * 2))
    prompt_tokens = tokens(model, prompt)
    cost = price(model, prompt_tokens, SUMMARY_MAX_TOKENS)
    folded = sum(live_sizes[:cut])
    resent = price(model, folded, 0)
    print(
        f"  {label}: folds {cut} of {len(live)} turns ({folded} tokens) with one call of "
        f"{prompt_tokens} prompt + <= {SUMMARY_MAX_TOKENS} output tokens = ${cost:.5f}; "
        f"those turns cost ${resent:.5f} in every later call they would have been sent with"
    )


async def main_async(args: argparse.Namespace) -> None:
    await asyncio.to_thread(warm_up)
    await bench_memory(args.model)
    print(f"summary ({args.model} prices)")
    bench_summary(args.model, 4000, "CONVERSATIONS_SUMMARY_AT=4000")
    bench_summary(args.model, int(128_000 * 0.75), "128k window (unset): the turn cap comes first")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="gpt-4o-mini")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
