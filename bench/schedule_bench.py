"""What scheduled work adds to model calls and how fast its schedules are read (issue 32).
Prints, never asserts.

    uv run python bench/schedule_bench.py [--model gpt-4o-mini]

- the ``schedule`` tool's schema: prompt tokens added to every answer while SCHEDULE_TOOL
  is on (the model sets reminders and scheduled prompts asked for in words);
- reading a schedule and computing a next run (python-dateutil's rrule), per call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services.schedule.recurrence import next_run, parse_every  # noqa: E402
from app.services.schedule.tool import DESCRIPTION, NAME, PARAMETERS  # noqa: E402
from llmdoor import litellm_module, warm_up  # noqa: E402

ROUNDS = 2000


def per_call_us(call: object) -> float:
    assert callable(call)
    start = time.perf_counter()
    for _ in range(ROUNDS):
        call()
    return (time.perf_counter() - start) / ROUNDS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="gpt-4o-mini")
    model = parser.parse_args().model
    warm_up()
    schema = json.dumps(
        {
            "type": "function",
            "function": {"name": NAME, "description": DESCRIPTION, "parameters": PARAMETERS},
        }
    )
    lit = litellm_module()
    print(f"{model}:")
    added = lit.token_counter(model=model, text=schema)
    print(f"  schedule tool schema (SCHEDULE_TOOL=on): +{added} tokens per call")
    zone, now = ZoneInfo("Europe/Oslo"), datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    for text in ("day 8:00 news", "weekday 7:30 weather", "2h a quote"):
        every = parse_every(text)
        assert every is not None
        rule = every.recurrence.rule()
        parse = per_call_us(lambda text=text: parse_every(text))
        step = per_call_us(lambda rule=rule: next_run(rule, zone, now, now))
        print(f"  {text!r}: read {parse:.1f} µs, next run {step:.1f} µs  ({rule})")


if __name__ == "__main__":
    main()
