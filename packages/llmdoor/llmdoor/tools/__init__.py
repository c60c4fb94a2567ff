"""Tools for the models (litellm function calling): the tool loop runs when ``tools=``
holds Tools or plain functions. Built-in tools (web search, page reading) and MCP servers
live in submodules that import their heavy dependencies only when used."""

from llmdoor.tools.base import (
    Source,
    Tool,
    ToolArgumentsError,
    ToolOutput,
    as_tool,
    from_function,
    tool,
)
from llmdoor.tools.calls import sources_in
from llmdoor.tools.loop import supports_tools

__all__ = [
    "Source",
    "Tool",
    "ToolArgumentsError",
    "ToolOutput",
    "as_tool",
    "from_function",
    "sources_in",
    "supports_tools",
    "tool",
]
