"""ToolService: the one authority on which tools a caller gets in a chat."""

from __future__ import annotations

from app.services.tools import ToolService
from app.storage import open_memory_storage
from llmdoor.access import Caller, Role
from llmdoor.tools import tool
from llmdoor.tools.settings import ToolSettings


@tool(name="demo__secret")
def secret() -> str:
    """An MCP-like tool that only admins get by default."""
    return "42"


ADMIN = Caller(user_id=1, role=Role.ADMIN)
FRIEND = Caller(user_id=2, role=Role.FRIEND)
STRANGER = Caller(user_id=3, role=Role.STRANGER)


def _names(tools: list) -> set[str]:  # type: ignore[type-arg]
    return {t.name for t in tools}


async def test_roles_policy_and_switches() -> None:
    storage = open_memory_storage()
    service = ToolService(ToolSettings(), storage, extra=[secret])
    assert _names(await service.tools_for(ADMIN, 10)) == {"read_url", "demo__secret"}
    assert _names(await service.tools_for(FRIEND, 10)) == {"read_url"}
    assert await service.tools_for(STRANGER, 10) == []

    assert await service.toggle_friend_tool("demo__secret") is True
    assert _names(await service.tools_for(FRIEND, 10)) == {"read_url", "demo__secret"}
    assert await service.toggle_friend_tool("read_url") is False
    assert _names(await service.tools_for(FRIEND, 10)) == {"demo__secret"}
    choices = {c.name: c.friends for c in await service.choices()}
    assert choices == {"read_url": False, "demo__secret": True}

    await service.set_off(FRIEND.user_id or 0, 10, True)
    assert await service.tools_for(FRIEND, 10) == []
    assert await service.tools_for(FRIEND, 11) != []  # another chat keeps them

    await service.record("read_url", True)
    await service.record("read_url", False)
    rows = await storage.tools.per_tool()
    assert [(r.tool, r.calls, r.errors) for r in rows] == [("read_url", 2, 1)]
    await storage.close()


async def test_a_database_outage_falls_back_to_the_settings() -> None:
    storage = open_memory_storage()
    service = ToolService(ToolSettings(friends="*"), storage, extra=[secret])
    storage.breaker.inject_outage()
    try:
        assert _names(await service.tools_for(FRIEND, 10)) == {"read_url", "demo__secret"}
        await service.record("read_url", True)  # not counted, no error
    finally:
        storage.breaker.clear_outage()
        await storage.close()


async def test_switches_read_once_per_few_seconds_and_other_instances_show_later() -> None:
    storage = open_memory_storage()
    service = ToolService(ToolSettings(), storage, extra=[secret])
    now = [1000.0]
    service._clock = lambda: now[0]
    assert _names(await service.tools_for(FRIEND, 10)) == {"read_url"}
    # Another instance changes both switches in the database.
    await storage.tools.set_friend_tools(["demo__secret"])
    await storage.tools.set_tools_off(FRIEND.user_id or 0, 11, True)
    assert await service.tools_for(FRIEND, 11) == []  # chat 11 was never read: read now
    assert _names(await service.tools_for(FRIEND, 10)) == {"read_url"}  # friends: cached
    now[0] += 10
    assert _names(await service.tools_for(FRIEND, 10)) == {"demo__secret"}
    await storage.close()
