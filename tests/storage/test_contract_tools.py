"""ToolRepository contract and tool turns in conversations, run on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.storage import StatsWindow, Storage, Turn
from app.storage.tools import ToolRepository, ToolUsage

DAY1 = datetime(2026, 11, 24, 10, tzinfo=UTC)
DAY2 = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)


async def test_calls_are_counted_per_tool_and_day(storage: Storage) -> None:
    tools = storage.tools
    assert isinstance(tools, ToolRepository)
    assert await tools.per_tool() == []
    await asyncio.gather(
        *(tools.record_call("web_search", True, DAY1) for _ in range(3)),
        tools.record_call("web_search", False, DAY2),
        tools.record_call("read_url", True, DAY2),
        tools.record_call("demo__shout", False, DAY2),
    )
    assert await tools.per_tool() == [
        ToolUsage(tool="web_search", calls=4, errors=1),
        ToolUsage(tool="demo__shout", calls=1, errors=1),
        ToolUsage(tool="read_url", calls=1, errors=0),
    ]
    day2 = StatsWindow(since=datetime(2026, 11, 25, tzinfo=UTC))
    assert [(r.tool, r.calls) for r in await tools.per_tool(day2)] == [
        ("demo__shout", 1),
        ("read_url", 1),
        ("web_search", 1),
    ]
    day1 = StatsWindow(until=datetime(2026, 11, 25, tzinfo=UTC))
    assert await tools.per_tool(day1) == [ToolUsage(tool="web_search", calls=3)]


async def test_friend_tools_are_unset_until_chosen(storage: Storage) -> None:
    tools = storage.tools
    assert await tools.friend_tools() is None
    await tools.set_friend_tools(["read_url", "web_search", "read_url"])
    assert await tools.friend_tools() == ["read_url", "web_search"]
    await tools.set_friend_tools([])
    assert await tools.friend_tools() == []


async def test_tools_are_switched_off_per_user_and_chat(storage: Storage) -> None:
    tools = storage.tools
    assert not await tools.tools_off(1, 10)
    await tools.set_tools_off(1, 10, True)
    await tools.set_tools_off(1, 10, True)
    assert await tools.tools_off(1, 10)
    assert not await tools.tools_off(1, 11) and not await tools.tools_off(2, 10)
    await tools.set_tools_off(1, 10, False)
    assert not await tools.tools_off(1, 10)


async def test_tool_turns_keep_their_calls_and_results(storage: Storage) -> None:
    convs = storage.conversations
    conv = await convs.active(3, 30)
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "web_search", "arguments": '{"query": "oslo"}'},
        }
    ]
    await convs.append(
        conv.id,
        [
            Turn(role="user", content="weather?"),
            Turn(role="assistant", content="", tool_calls=calls),
            Turn(role="tool", content="[1] Oslo: sunny", tool_call_id="call_1", name="web_search"),
            Turn(role="assistant", content="Sunny [1].", model="m"),
        ],
    )
    got = (await convs.active(3, 30)).turns
    assert [t.role for t in got] == ["user", "assistant", "tool", "assistant"]
    assert got[1].tool_calls == calls and got[1].tool_call_id is None
    assert (got[2].tool_call_id, got[2].name, got[2].content) == (
        "call_1",
        "web_search",
        "[1] Oslo: sunny",
    )
    assert got[3].tool_calls is None and got[0].name is None
