"""Tools end to end: the real bot on the Telegram emulator, litellm on the fake OpenAI server
scripting tool calls, a stub SearXNG and a page server on 127.0.0.1, and a small MCP server
over stdio written with the official SDK (tests/fakes/mcp_demo_server.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from llmdoor import LLMSettings
from llmdoor.tools.settings import ToolSettings
from tests.e2e.conftest import ADMIN_ID, FAKE_MODEL, FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.web_server import ARTICLE_TEXT, FakeWeb

DEMO = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_demo_server.py")


@pytest_asyncio.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with FakeWeb() as server:
        server.results["weather in Oslo"] = [
            ("Oslo weather today", "https://weather.example/oslo", "Sunny, 21 °C"),
            ("Oslo forecast", "https://forecast.example/oslo", "Rain tomorrow"),
        ]
        yield server


@pytest.fixture
def mcp_file(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "mcp-calls.log"
    path = tmp_path / "mcp.json"
    servers = {"mcpServers": {"demo": {"command": sys.executable, "args": [DEMO, str(log)]}}}
    path.write_text(json.dumps(servers))
    return path, log


def _button(message: Any, prefix: str) -> str:
    for button in message.buttons:
        if button["text"].startswith(prefix):
            return str(button["text"])
    raise AssertionError(f"no button starting with {prefix!r}: {message.button_texts}")


def _tool_names(request: Any) -> set[str]:
    """The configured tools offered (the user's own ``remember`` has tests of its own)."""
    return {t["function"]["name"] for t in request.json.get("tools", [])} - {"remember", "schedule"}


def _llm(fake: FakeOpenAI, **overrides: Any) -> LLMSettings:
    base: dict[str, Any] = {
        "default_model": FAKE_MODEL,
        "api_base": fake.base_url,
        "api_key": "sk-test",
        "gateway_discovery": False,
        "max_retries": 1,
        "backoff_initial": 0.001,
        "backoff_max": 0.005,
        "timeout": 10,
    }
    return LLMSettings(**(base | overrides))


@contextlib.asynccontextmanager
async def tool_bot(start_bot: StartBot, web: FakeWeb, **settings: Any) -> AsyncIterator[Running]:
    llm = settings.pop("llm", None)
    tools = ToolSettings(search_backend="searxng", searxng_url=web.searxng_url, **settings)
    overrides: dict[str, Any] = {"tools": tools}
    if llm is not None:
        overrides["llm"] = llm
    async with start_bot(**overrides) as running:
        service = running.app.tools
        assert service is not None
        await service.start(wait=60)
        try:
            yield running
        finally:
            await service.aclose()


async def test_search_answer_cites_sources_with_progress_in_the_draft(
    start_bot: StartBot, web: FakeWeb
) -> None:
    async with tool_bot(start_bot, web) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(
            Reply(tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Oslo"}}]),
            Reply(text="It is sunny in Oslo today [1].", chunk_size=5, chunk_delay=0.01),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("what's the weather in Oslo?")
        reply = await tg.wait_for_message(friend.id, lambda m: "sunny in Oslo" in m.text)
        await tg.wait_quiet()
        # The answer, then its cited source as a numbered link (the uncited one left out).
        assert reply.text.startswith("It is sunny in Oslo today [1].")
        assert "Sources:\n[1] Oslo weather today" in reply.text
        assert "Oslo forecast" not in reply.text
        links = [e for e in reply.entities if e["type"] == "text_link"]
        assert [e["url"] for e in links] == ["https://weather.example/oslo"]
        # While the tool ran, the draft showed the progress line; the answer replaced it.
        drafts = [d.text for d in tg.drafts(friend.id)]
        assert "🔎 searching: weather in Oslo" in drafts
        assert len(friend.chat.bot_messages) == 1
        assert web.searches == ["weather in Oslo"]
        first, second = fake.chat_requests[-2:]
        assert _tool_names(first) == {"web_search", "read_url"}
        result = second.messages[-1]
        assert result["role"] == "tool" and result["name"] == "web_search"
        assert result["content"].startswith("[1] Oslo weather today\nhttps://weather.example/oslo")

        # The tool call and its result stay in the conversation for follow-ups.
        await friend.send("and tomorrow?")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: and tomorrow?")
        history = fake.chat_requests[-1].messages
        roles = [m["role"] for m in history]
        assert roles[-5:] == ["user", "assistant", "tool", "assistant", "user"]
        assert history[-4]["tool_calls"][0]["function"]["name"] == "web_search"
        assert history[-3]["tool_call_id"] == history[-4]["tool_calls"][0]["id"]

        # /stats counts the tool calls per tool.
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/stats")
        panel = await tg.wait_for_message(admin.id, lambda m: "Usage statistics" in m.text)
        await admin.press(panel, "Tools")
        await tg.wait_until(lambda: "Tool calls" in panel.text)
        assert "web_search: 1 calls (0 failed)" in panel.text


async def test_read_url_of_a_local_page(start_bot: StartBot, web: FakeWeb) -> None:
    async with tool_bot(start_bot, web, fetch_allow_hosts=f"127.0.0.1:{web.port}") as running:
        tg, fake = running.tg, running.fake_llm
        url = web.url("/article")
        fake.script(
            Reply(tool_calls=[{"name": "read_url", "arguments": {"url": url}}]),
            Reply(text="The lighthouse was first lit in 1656 [1].", chunk_size=8),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send(f"summarize {url}")
        reply = await tg.wait_for_message(friend.id, lambda m: "1656" in m.text)
        assert "[1] Lindesnes lighthouse" in reply.text
        assert any(e.get("url") == url for e in reply.entities)
        page = fake.chat_requests[-1].messages[-1]["content"]
        assert ARTICLE_TEXT[:80] in page and "Cookie settings" not in page
        assert "📄 reading 127.0.0.1" in [d.text for d in tg.drafts(friend.id)]
        assert web.hits == ["/article"]


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/secret", "127.0.0.1"),  # loopback, directly
        ("/to-secret", "localhost"),  # an allowed name that redirects to loopback
        ("/to-metadata", "localhost"),  # ... or to the cloud metadata address
    ],
)
async def test_read_url_refuses_the_bots_own_network(
    start_bot: StartBot, web: FakeWeb, path: str, host: str
) -> None:
    # Only "localhost:<port>" is allowed (as written); 127.0.0.1 and 169.254.169.254 are not.
    allow = f"localhost:{web.port}"
    async with tool_bot(start_bot, web, fetch_allow_hosts=allow) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(
            Reply(tool_calls=[{"name": "read_url", "arguments": {"url": web.url(path, host)}}]),
            Reply(
                tool_calls=[
                    {
                        "name": "read_url",
                        "arguments": {"url": "http://169.254.169.254/latest/meta-data/"},
                    }
                ]
            ),
            Reply(text="I could not read that page."),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("read it")
        await tg.wait_for_message(friend.id, lambda m: "could not read" in m.text)
        results = [m["content"] for m in fake.chat_requests[-1].messages if m["role"] == "tool"]
        assert len(results) == 2
        assert all("refused" in r and "private or local address" in r for r in results)
        assert "169.254.169.254" in results[1]
        assert "/secret" not in web.hits  # nothing ever reached the private address
        assert "the secret is 42" not in json.dumps(fake.chat_requests[-1].json)


async def test_mcp_tool_called_and_its_result_used(
    start_bot: StartBot, web: FakeWeb, mcp_file: tuple[Path, Path]
) -> None:
    path, log = mcp_file
    async with tool_bot(start_bot, web, mcp_servers_file=str(path)) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(
            Reply(tool_calls=[{"name": "demo__shout", "arguments": {"text": "hello world"}}]),
            Reply(text="The server shouted: HELLO WORLD!"),
        )
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("shout hello world")
        await tg.wait_for_message(admin.id, lambda m: m.text == "The server shouted: HELLO WORLD!")
        assert {"demo__shout", "demo__secret_number"} <= _tool_names(fake.chat_requests[0])
        assert fake.chat_requests[-1].messages[-1]["content"] == "HELLO WORLD!"
        assert "shout hello world" in log.read_text()
        assert "🛠 shout (demo)" in [d.text for d in tg.drafts(admin.id)]


async def test_mcp_server_killed_mid_conversation_chat_goes_on(
    start_bot: StartBot, web: FakeWeb, mcp_file: tuple[Path, Path]
) -> None:
    path, log = mcp_file
    async with tool_bot(
        start_bot, web, mcp_servers_file=str(path), mcp_retry_seconds=3600
    ) as running:
        tg, fake = running.tg, running.fake_llm
        admin = tg.user(ADMIN_ID, "Ada")
        fake.script(
            Reply(tool_calls=[{"name": "demo__shout", "arguments": {"text": "one"}}]),
            Reply(text="first answer"),
        )
        await admin.send("first")
        await tg.wait_for_message(admin.id, lambda m: m.text == "first answer")

        pid = int(log.read_text().splitlines()[0].split()[1])
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        # The model asks the dead server: the call fails, the model is told, chat goes on.
        fake.script(
            Reply(tool_calls=[{"name": "demo__shout", "arguments": {"text": "two"}}]),
            Reply(text="second answer without the server"),
        )
        await admin.send("second")
        await tg.wait_for_message(admin.id, lambda m: "second answer" in m.text)
        result = fake.chat_requests[-1].messages[-1]
        assert result["role"] == "tool" and "did not answer" in result["content"]
        # Its tools are gone from the next request; the built-in ones stay.
        await admin.send("third")
        await tg.wait_for_message(admin.id, lambda m: m.text == "echo: third")
        assert _tool_names(fake.chat_requests[-1]) == {"web_search", "read_url"}


async def test_the_tool_loop_is_capped(
    start_bot: StartBot, web: FakeWeb, fake_llm: FakeOpenAI
) -> None:
    llm = _llm(fake_llm, tool_max_rounds=2)
    async with tool_bot(start_bot, web, llm=llm) as running:
        fake = running.fake_llm
        tg = running.tg
        search = Reply(
            tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Oslo"}}]
        )
        # The model would search forever; its third answer still asks, with some text.
        fake.script(
            search,
            search,
            Reply(text="Here is what I found so far.", tool_calls=search.tool_calls),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("search forever")
        await tg.wait_for_message(friend.id, lambda m: "what I found" in m.text)
        assert len(web.searches) == 2  # two rounds ran tools, the third was not run
        assert len(fake.chat_requests) == 3
        assert fake.chat_requests[-1].json["tool_choice"] == "none"


async def test_friend_refused_an_admin_only_tool_until_allowed(
    start_bot: StartBot, web: FakeWeb, mcp_file: tuple[Path, Path]
) -> None:
    path, log = mcp_file
    async with tool_bot(start_bot, web, mcp_servers_file=str(path)) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        ask = Reply(tool_calls=[{"name": "demo__secret_number", "arguments": {}}])
        fake.script(ask, Reply(text="I may not use that tool."))
        await friend.send("what is the secret number?")
        await tg.wait_for_message(friend.id, lambda m: "may not" in m.text)
        assert _tool_names(fake.chat_requests[-2]) == {"web_search", "read_url"}
        refused = fake.chat_requests[-1].messages[-1]["content"]
        assert "no tool named 'demo__secret_number'" in refused
        assert "secret_number" not in log.read_text()  # the server was never asked

        # An admin allows it for friends in /tools; now the friend's call goes through.
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/tools")
        menu = await tg.wait_for_message(admin.id, lambda m: "Tools in this chat" in m.text)
        await admin.press(menu, "❌ demo__secret_number")
        await tg.wait_until(lambda: "✅ demo__secret_number" in menu.button_texts)
        fake.script(ask, Reply(text="It is 4217."))
        await friend.send("and now?")
        await tg.wait_for_message(friend.id, lambda m: m.text == "It is 4217.")
        assert fake.chat_requests[-1].messages[-1]["content"] == "The secret number is 4217."


async def test_tools_switched_off_in_one_chat(start_bot: StartBot, web: FakeWeb) -> None:
    async with tool_bot(start_bot, web) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/tools")
        menu = await tg.wait_for_message(friend.id, lambda m: "Tools in this chat: on" in m.text)
        assert "web_search" in menu.text and "❌" not in " ".join(menu.button_texts)
        await friend.press(menu, _button(menu, "Switch tools off"))
        await tg.wait_until(lambda: "Tools in this chat: off" in menu.text)
        await friend.send("hello")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: hello")
        assert _tool_names(fake.chat_requests[-1]) == set()
        assert await running.storage.tools.tools_off(FRIEND_ID, FRIEND_ID)


async def test_a_url_that_does_not_parse_does_not_break_the_answer(
    start_bot: StartBot, web: FakeWeb
) -> None:
    async with tool_bot(start_bot, web) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(
            Reply(tool_calls=[{"name": "read_url", "arguments": {"url": "http://[::1"}}]),
            Reply(text="That address is broken."),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("read http://[::1")
        await tg.wait_for_message(friend.id, lambda m: m.text == "That address is broken.")
        assert "📄 reading http://[::1" in [d.text for d in tg.drafts(friend.id)]
        result = fake.chat_requests[-1].messages[-1]
        assert result["role"] == "tool" and result["content"].startswith("Error")
        assert web.hits == []


async def test_regenerate_after_a_tool_answer_searches_again_and_continue_keeps_the_sources(
    start_bot: StartBot, web: FakeWeb
) -> None:
    web.results["Oslo weather now"] = [
        ("Oslo now", "https://now.example/oslo", "Cloudy, 15 °C"),
    ]
    async with tool_bot(start_bot, web) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(
            Reply(tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Oslo"}}]),
            Reply(text="Sunny in Oslo [1]."),
            # 🔄 Regenerate: a fresh attempt, with the tools again.
            Reply(tool_calls=[{"name": "web_search", "arguments": {"query": "Oslo weather now"}}]),
            Reply(text="Cloudy in Oslo [1].", finish_reason="length"),
            # ➡️ Continue: goes on writing from what the answer found.
            Reply(text="Cooler than yesterday [1]."),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("weather in Oslo?")
        first = await tg.wait_for_message(friend.id, lambda m: "Sunny in Oslo" in m.text)
        await tg.wait_until(lambda: "🔄 Regenerate" in first.button_texts)
        asked = len(fake.chat_requests)
        await friend.press(first, "🔄 Regenerate")
        second = await tg.wait_for_message(friend.id, lambda m: "Cloudy in Oslo" in m.text)
        await tg.wait_quiet()
        assert web.searches == ["weather in Oslo", "Oslo weather now"]
        regen = fake.chat_requests[asked]
        assert _tool_names(regen) == {"web_search", "read_url"}
        # The model saw the prompt without the old answer or its tool results ...
        assert [m["role"] for m in regen.messages] == ["system", "user"]
        # ... and the history now holds what it saw: the new search and the new answer.
        conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert [t.role for t in conv.turns] == ["user", "assistant", "tool", "assistant"]
        assert conv.turns[1].tool_calls is not None
        assert conv.turns[1].tool_calls[0]["function"]["arguments"] == json.dumps(
            {"query": "Oslo weather now"}
        )
        assert conv.turns[2].content.startswith("[1] Oslo now\nhttps://now.example/oslo")
        assert conv.turns[3].content == "Cloudy in Oslo [1]."
        assert "Sources:\n[1] Oslo now" in second.text

        await tg.wait_until(lambda: "➡️ Continue" in second.button_texts)
        await friend.press(second, "➡️ Continue")
        more = await tg.wait_for_message(friend.id, lambda m: "Cooler than" in m.text)
        await tg.wait_quiet()
        assert web.searches == ["weather in Oslo", "Oslo weather now"]  # no new search
        cont = fake.chat_requests[-1]
        # The answer's tool results stay in view (tools declared, none may be called).
        assert [m["role"] for m in cont.messages] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
        ]
        assert cont.json.get("tool_choice") == "none"
        # The continuation cites the answer's sources, and shows them.
        assert "Sources:\n[1] Oslo now" in more.text
        links = [e["url"] for e in more.entities if e["type"] == "text_link"]
        assert links == ["https://now.example/oslo"]
        conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert [t.role for t in conv.turns] == ["user", "assistant", "tool", "assistant"]
        assert conv.turns[3].content == "Cloudy in Oslo [1]. Cooler than yesterday [1]."


async def test_usage_footer_of_a_tool_answer_counts_every_round(
    start_bot: StartBot, web: FakeWeb, fake_llm: FakeOpenAI
) -> None:
    llm = _llm(fake_llm, unpriced_input_per_mtok=1.0, unpriced_output_per_mtok=2.0)
    async with tool_bot(start_bot, web, llm=llm) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/usage on")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("📊 Each answer"))
        fake.script(
            Reply(
                tool_calls=[{"name": "web_search", "arguments": {"query": "weather in Oslo"}}],
                prompt_tokens=100,
                completion_tokens=10,
            ),
            Reply(text="Sunny [1].", prompt_tokens=300, completion_tokens=20),
        )
        await friend.send("weather?")
        final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Sunny [1]."))
        records: list[Any] = []
        for _ in range(200):
            records = [r async for r in running.storage.usage.iter_records(user_id=FRIEND_ID)]
            if len(records) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(records) == 2
        footer = final.text.split("\n")[-1]
        # Both rounds: the one that asked for the search and the one that answered.
        assert "· 400 in / 30 out ·" in footer and "(partial)" not in footer
        cost = sum(r.cost_usd for r in records)
        assert cost == pytest.approx(400e-6 + 30 * 2e-6)
        assert f"${cost:.6f}" in footer
        total = float(footer.rsplit("total ", 1)[1].removesuffix(" s"))
        assert total >= round(sum(r.latency_ms for r in records) / 1000, 2) - 0.01
