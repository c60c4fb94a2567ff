"""How long rich_parts (Markdown -> rich messages) takes next to today's render_markdown
(Markdown -> text + entities), on model answers of about 2.5 KB, 12 KB and 40 KB.

Run: uv run python bench/rich_render_bench.py
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bot.rendering.markdown import render_markdown
from app.bot.rendering.rich import rich_parts

_SECTION = """## Step {n}: configure the service

The service reads **environment variables**; `LOG_LEVEL=debug` turns on *verbose* logging,
~~the old flag~~ is gone, a < b holds, and it costs $5 to $10 a month ([docs](https://example.com/{n})).

| Option | Default | Type | Required | Meaning |
|:--|:-:|--:|---|---|
| `PORT` | 8080 | int | no | listening port |
| `TOKEN` | — | str | yes | the bot token from @BotFather |

$$
T(n) = \\sum_{{i=1}}^{{n}} \\frac{{1}}{{i^2}}
$$

```python
def retry(fn, attempts: int = 3):
    for i in range(attempts):
        try:
            return fn()
        except OSError:
            continue
```

1. Prepare the host:
   - install Python 3.11
   - open the port
2. Start it; the cost is $O(n \\log n)$.

> Note: restart after every change. 😀
"""


def answer(target_bytes: int) -> str:
    parts = ["# Deployment guide\n\nA complete walkthrough follows.\n"]
    n = 1
    while len("\n".join(parts).encode()) < target_bytes:
        parts.append(_SECTION.format(n=n))
        n += 1
    return "\n".join(parts)


def measure(md: str, fn: Callable[[str], object]) -> float:
    """Median milliseconds per call."""
    fn(md)  # warm up
    timer = timeit.Timer(lambda: fn(md))
    number = 5
    runs = [t / number * 1000 for t in timer.repeat(repeat=5, number=number)]
    return statistics.median(runs)


def main() -> None:
    print(
        f"{'answer':>8} {'parts':>5} {'rich_parts ms':>14} {'render_markdown ms':>19} {'ratio':>6}"
    )
    for size in (2_500, 12_000, 40_000):
        md = answer(size)
        rich_ms = measure(md, rich_parts)
        old_ms = measure(md, render_markdown)
        parts = len(rich_parts(md))
        print(
            f"{len(md.encode()) / 1000:>6.1f}KB {parts:>5} {rich_ms:>14.2f} {old_ms:>19.2f}"
            f" {rich_ms / old_ms:>6.2f}"
        )


if __name__ == "__main__":
    main()
