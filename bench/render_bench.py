"""How long render_markdown takes on typical model answers, relative to litellm's ~5 ms/call.

Run: uv run python bench/render_bench.py
The design budget (DESIGN.md, "Costs we measured") is per-message work well under the ~5 ms
that one litellm call adds, so the ratio printed here should stay far below 1.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bot.rendering.markdown import render_markdown, render_preview, utf16_len

LITELLM_OVERHEAD_US = 5_000.0

_SECTION = """## Step {n}: set up the environment 🚀

To install the package, run the following. Note that `pip install <pkg>` needs **Python 3.11+**
and that a < b holds for *every* version we tested (see [the docs](https://example.com/docs?x=1&y=2)).

```python
def fib(n: int) -> int:
    # memoised: the naive version is O(2^n)
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a  # e.g. fib(10) == 55, and 3 * 4 < 20
```

| Option | Default | Meaning |
|---|---|---|
| `--fast` | off | skip checks |
| `--lang` | en | UI language — ru, en, 中文 |

1. First, **configure** the `.env` file:
   - `TELEGRAM_BOT_TOKEN` — from @BotFather
   - `MONGODB_URI` — optional
2. Then start it. The complexity is $O(n \\log n)$ and \\[ E = mc^2 \\].

> **Tip:** if something fails, check the logs first. 😀
"""


def answer(target_bytes: int) -> str:
    parts: list[str] = ["# How to run the bot\n\nHere is a complete walkthrough.\n"]
    n = 1
    while len("\n".join(parts).encode()) < target_bytes:
        parts.append(_SECTION.format(n=n))
        n += 1
    return "\n".join(parts)


def measure(md: str, fn: Callable[[str], object]) -> tuple[float, float]:
    """(best, median) µs per call over several repeats.

    Best is the CPU cost; the median also shows noise from whatever else runs on the machine.
    """
    timer = timeit.Timer(lambda: fn(md))
    number, _ = timer.autorange()
    runs = [r / number * 1e6 for r in timer.repeat(repeat=9, number=number)]
    return min(runs), statistics.median(runs)


def main() -> None:
    render_markdown("warm-up **import** `paths`")
    print(
        f"{'input':<34}{'size':>8}{'parts':>6}{'best µs':>9}{'median µs':>11}"
        f"{'best ÷ 5 ms litellm':>21}"
    )
    for label, size in (("typical answer", 2_000), ("long answer", 20_000)):
        md = answer(size)
        parts = render_markdown(md)
        assert all(utf16_len(p.text) <= 4096 for p in parts)
        fns: tuple[tuple[str, Callable[[str], object]], ...] = (
            ("render_markdown", render_markdown),
            ("render_preview", render_preview),
        )
        for name, fn in fns:
            best, median = measure(md, fn)
            print(
                f"{label + ' / ' + name:<34}{len(md.encode()):>7}B{len(parts):>6}"
                f"{best:>9.0f}{median:>11.0f}{best / LITELLM_OVERHEAD_US:>21.2f}"
            )


if __name__ == "__main__":
    main()
