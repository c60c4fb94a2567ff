"""Settings of the built-in tools and MCP servers (env prefix ``TOOLS_``; the vendor keys
and the MCP file keep the names people already use)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SearchBackend = Literal["", "searxng", "tavily", "brave"]

TAVILY_URL = "https://api.tavily.com/search"
BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"


def split_names(raw: str) -> list[str]:
    return [item.strip() for item in raw.replace(";", ",").split(",") if item.strip()]


class ToolSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TOOLS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # web_search: which backend (empty: no search tool), and its address or key.
    search_backend: SearchBackend = ""
    searxng_url: str | None = None
    tavily_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TAVILY_API_KEY", "TOOLS_TAVILY_API_KEY")
    )
    brave_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BRAVE_API_KEY", "TOOLS_BRAVE_API_KEY")
    )
    # The hosted APIs' endpoints (a proxy, or a stub in tests).
    tavily_url: str = TAVILY_URL
    brave_url: str = BRAVE_URL
    search_results: int = Field(default=5, ge=1, le=20)
    search_timeout: float = Field(default=10.0, gt=0)

    # read_url: on or off, what it may fetch and how much of a page the model reads.
    read_url: bool = True
    # Host names (optionally host:port) read_url may fetch although they resolve to
    # private or loopback addresses; matched on the URL's host as written.
    fetch_allow_hosts: str = ""
    fetch_max_bytes: int = Field(default=1_000_000, ge=1024)
    fetch_timeout: float = Field(default=15.0, gt=0)  # seconds for the whole fetch
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    read_url_limit: int = Field(default=4000, ge=100)

    # Tools friends may use unless an admin changed it in /tools: names, comma-separated,
    # "*" for all. Admins may use every tool.
    friends: str = "web_search,read_url"

    # MCP servers: a JSON or YAML file (see README), and how long connecting, listing and
    # one call may take before the server counts as down; a down server is retried.
    mcp_servers_file: str | None = Field(
        default=None, validation_alias=AliasChoices("MCP_SERVERS_FILE", "TOOLS_MCP_SERVERS_FILE")
    )
    mcp_timeout: float = Field(default=20.0, gt=0)
    mcp_retry_seconds: float = Field(default=30.0, gt=0)
    # Characters of one MCP tool result kept (read off the event loop); the tool loop then
    # cuts what the model reads to LLM_TOOL_RESULT_LIMIT tokens.
    mcp_max_result_chars: int = Field(default=1_000_000, ge=1000)

    @field_validator("search_backend", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(name.lower() for name in split_names(self.fetch_allow_hosts))

    @property
    def friend_tools(self) -> frozenset[str]:
        return frozenset(split_names(self.friends))


def tool_settings_problems(settings: ToolSettings) -> list[str]:
    """Start-up checks, one line each, no secret values quoted."""
    problems: list[str] = []
    backend = settings.search_backend
    if backend == "searxng" and not settings.searxng_url:
        problems.append("TOOLS_SEARCH_BACKEND=searxng needs TOOLS_SEARXNG_URL.")
    if backend == "tavily" and not settings.tavily_api_key:
        problems.append("TOOLS_SEARCH_BACKEND=tavily needs TAVILY_API_KEY.")
    if backend == "brave" and not settings.brave_api_key:
        problems.append("TOOLS_SEARCH_BACKEND=brave needs BRAVE_API_KEY.")
    if settings.mcp_servers_file:
        from llmdoor.tools.mcp import MCPConfigError, load_servers_file

        try:
            load_servers_file(settings.mcp_servers_file)
        except MCPConfigError as exc:
            problems.append(str(exc))
    return problems
