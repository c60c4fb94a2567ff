"""Issue 28's findings, measured: what one hostile input costs everyone else.

    uv run python bench/hostile_input_bench.py            # all sections
    uv run python bench/hostile_input_bench.py docs tools # some of them

Sections: ssrf (Unicode spellings of 127.0.0.1 that reach a loopback server), docs (six
DOCX zip bombs from one user beside another's work: the default executor's latency, time to
the last refusal, CPU this process burns after it), xlsx (three spreadsheet time bombs),
voice (a note declaring 5 s that lasts 300 s, against a $0.01 budget), tools (a model asking
for 300 calls a round for 5 rounds), tokens (a 3 MB tool-call argument).

Everything runs on 127.0.0.1 (a fake OpenAI server, a local web server). Only public
llmdoor APIs are used, so the same file measures an older checkout (run it there with
PYTHONPATH pointing at that checkout). Heavy imports stay inside functions: document
readers run in child processes, which import this script's module again."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time
from typing import Any

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def ssrf() -> None:
    from aiohttp import web

    from llmdoor.tools.fetch import FetchRefused, fetch

    hits: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="internal", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    spellings = [
        "127\u30020\u30020\u30021",  # ideographic full stops
        "127\uff0e0\uff0e0\uff0e1",  # fullwidth full stops
        "127\uff610\uff610\uff611",  # halfwidth ideographic full stops
        "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits
        "\uff11\uff12\uff17\u30020\u30020\u30021",
    ]
    reached = 0
    for host in spellings:
        before = len(hits)
        with contextlib.suppress(FetchRefused, OSError):
            await fetch(f"http://{host}:{port}/secret")
        reached += len(hits) > before
    await runner.cleanup()
    print(f"ssrf: {reached} of {len(spellings)} Unicode spellings of 127.0.0.1 fetched")


async def _executor_latency(stop: asyncio.Event, waits: list[float]) -> None:
    """What a litellm call or a render waits for the default executor, sampled; a sample
    still waiting when the bombs are done counts as its wait so far."""
    while not stop.is_set():
        started = time.perf_counter()
        job = asyncio.ensure_future(asyncio.to_thread(lambda: None))
        while not job.done() and not stop.is_set():
            await asyncio.wait({job}, timeout=0.1)
        waits.append(time.perf_counter() - started)
        if not job.done():
            return
        await asyncio.sleep(0.05)


async def docs() -> None:
    from llmdoor import LLMError, LLMProvider, LLMSettings
    from tests.media.hostile_files import docx_bomb

    provider = LLMProvider(LLMSettings(default_model="openai/gpt-4o-mini", api_key="sk-x"))
    bomb = docx_bomb(40)
    stop = asyncio.Event()
    waits: list[float] = []
    sampler = asyncio.create_task(_executor_latency(stop, waits))
    await asyncio.sleep(0.3)
    started = time.perf_counter()

    async def one(user: int) -> str:
        try:
            await provider.aread_document(bomb, DOCX, "bomb.docx", user_id=user)
        except LLMError as exc:
            return type(exc).__name__
        return "read"

    outcomes = await asyncio.gather(*(one(1000 + i) for i in range(6)))
    last = time.perf_counter() - started
    stop.set()
    await sampler
    cpu = _cpu()
    await asyncio.sleep(5)
    after = _cpu() - cpu
    print(
        f"docs: 6 DOCX bombs ({len(bomb) // 1024} KB each): last outcome after {last:.1f} s "
        f"({', '.join(sorted(set(outcomes)))}); default executor wait max "
        f"{max(waits):.2f} s, median {sorted(waits)[len(waits) // 2]:.3f} s; "
        f"CPU of this process in the 5 s after: {after:.1f} s"
    )


async def xlsx() -> None:
    from llmdoor import LLMError, LLMProvider, LLMSettings
    from tests.media import hostile_files

    provider = LLMProvider(LLMSettings(default_model="openai/gpt-4o-mini", api_key="sk-x"))
    cases = [
        ("200 000 blank rows", hostile_files.xlsx_blank_rows(200_000)),
        ("1M cells", hostile_files.xlsx_many_cells(1_000_000)),
        ("50 sheets sharing one", hostile_files.xlsx_sheets_sharing_one(50, 100_000)),
    ]
    for name, data in cases:
        cpu = _cpu()
        started = time.perf_counter()
        try:
            doc = await provider.aread_document(data, XLSX, "book.xlsx")
            outcome = f"read {len(doc.markdown) // 1000}k chars"
        except LLMError as exc:
            outcome = type(exc).__name__
        took = time.perf_counter() - started
        await asyncio.sleep(2)
        print(
            f"xlsx: {name} ({len(data) // 1024} KB): {outcome} in {took:.1f} s, "
            f"CPU in this process {_cpu() - cpu:.1f} s"
        )


async def voice() -> None:
    from llmdoor import AccessPolicy, AccessSettings, LLMError, LLMProvider, LLMSettings
    from tests.fakes.openai_server import FakeOpenAI
    from tests.llm.conftest import CountingGuard
    from tests.media.files import make_ogg_opus

    with FakeOpenAI() as fake:
        settings = LLMSettings(
            default_model="openai/gpt-4o-mini", api_base=fake.base_url, api_key="sk-x"
        )
        guard = CountingGuard(limit=0.01)
        access = AccessPolicy(AccessSettings(admins="1", friends="5"))
        provider = LLMProvider(settings, access=access, budget=guard)
        try:
            await provider.atranscribe(make_ogg_opus(300), user_id=5, duration_seconds=5)
            outcome = "sent to the vendor"
        except LLMError as exc:
            outcome = f"refused ({type(exc).__name__})"
        reserved = sum(h.reserved or 0 for h in guard.holds)
        print(
            f"voice: a note declaring 5 s, 300 s long, $0.01 budget: {outcome}; reserved "
            f"${reserved:.5f}; vendor requests {len(fake.media_requests)}"
        )


async def tools() -> None:
    from llmdoor import LLMProvider, LLMSettings
    from tests.fakes.openai_server import FakeOpenAI, Reply

    ran: list[int] = []

    async def fetch_page(n: int) -> str:
        """Fetch a page."""
        ran.append(n)
        await asyncio.sleep(0.01)
        return f"page {n}"

    with FakeOpenAI() as fake:
        settings = LLMSettings(
            default_model="openai/fake-model", api_base=fake.base_url, api_key="sk-x"
        )
        provider = LLMProvider(settings)
        rounds = [
            Reply(tool_calls=[{"id": f"r{r}c{i}", "name": "fetch_page", "arguments": {"n": i}}
                              for i in range(300)])
            for r in range(5)
        ]  # fmt: skip
        fake.script(*rounds, Reply(text="done"))
        started = time.perf_counter()
        async for _event in provider.aquery_llm_events("read all", tools=[fetch_page]):
            pass
        print(
            f"tools: 300 calls a round for 5 rounds: {len(ran)} calls run, "
            f"{len(fake.chat_requests)} model rounds, {time.perf_counter() - started:.1f} s"
        )


async def tokens() -> None:
    import json

    from llmdoor.models.pricing import count_messages

    message: dict[str, Any] = {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c", "type": "function", "function": {
            "name": "write_file", "arguments": json.dumps({"text": "x" * 3_000_000})}}],
    }  # fmt: skip
    started = time.perf_counter()
    counted = count_messages("openai/gpt-4o-mini", [message])  # type: ignore[list-item]
    print(
        f"tokens: a 3 MB tool-call argument counts as {counted} tokens "
        f"({time.perf_counter() - started:.2f} s to count)"
    )


SECTIONS = {"ssrf": ssrf, "docs": docs, "xlsx": xlsx, "voice": voice, "tools": tools,
            "tokens": tokens}  # fmt: skip


async def main(names: list[str]) -> None:
    from llmdoor import warm_up

    warm_up()
    for name in names or list(SECTIONS):
        await SECTIONS[name]()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
