"""The built-in tools: ``web_search`` (SearXNG, Tavily or Brave) and ``read_url`` (a page's
main text, extracted with trafilatura and cut to a token budget). Both return their pages
as sources, which the loop numbers for the answer to cite."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import aiohttp
from pydantic import Field

from llmdoor.tools.base import Source, Tool, ToolOutput, from_function
from llmdoor.tools.fetch import FetchRefused, Page, fetch
from llmdoor.tools.settings import ToolSettings

log = logging.getLogger("llmdoor.tools")

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/xml")

SearchFunction = Callable[[aiohttp.ClientSession, str, int], Awaitable[list[Source]]]


class SearchFailed(Exception):
    """The search backend failed; the message names the backend, never its key."""


# ---------------------------------------------------------------------------- search


def _searxng(settings: ToolSettings) -> SearchFunction:
    base = (settings.searxng_url or "").rstrip("/")

    async def search(session: aiohttp.ClientSession, query: str, count: int) -> list[Source]:
        params = {"q": query, "format": "json"}
        async with session.get(f"{base}/search", params=params) as response:
            if response.status != 200:
                raise SearchFailed(f"SearXNG answered {response.status}")
            data = await response.json(content_type=None)
        return [
            Source(r.get("title") or r["url"], r["url"], (r.get("content") or "")[:500])
            for r in data.get("results", [])[:count]
            if r.get("url")
        ]

    return search


def _tavily(settings: ToolSettings) -> SearchFunction:
    key = settings.tavily_api_key.get_secret_value() if settings.tavily_api_key else ""

    async def search(session: aiohttp.ClientSession, query: str, count: int) -> list[Source]:
        body = {"query": query, "max_results": count}
        headers = {"Authorization": f"Bearer {key}"}
        async with session.post(settings.tavily_url, json=body, headers=headers) as response:
            if response.status != 200:
                raise SearchFailed(f"Tavily answered {response.status}")
            data = await response.json(content_type=None)
        return [
            Source(r.get("title") or r["url"], r["url"], (r.get("content") or "")[:500])
            for r in data.get("results", [])[:count]
            if r.get("url")
        ]

    return search


def _brave(settings: ToolSettings) -> SearchFunction:
    key = settings.brave_api_key.get_secret_value() if settings.brave_api_key else ""

    async def search(session: aiohttp.ClientSession, query: str, count: int) -> list[Source]:
        params = {"q": query, "count": str(count)}
        headers = {"X-Subscription-Token": key, "Accept": "application/json"}
        async with session.get(settings.brave_url, params=params, headers=headers) as response:
            if response.status != 200:
                raise SearchFailed(f"Brave Search answered {response.status}")
            data = await response.json(content_type=None)
        results = (data.get("web") or {}).get("results", [])
        return [
            Source(r.get("title") or r["url"], r["url"], (r.get("description") or "")[:500])
            for r in results[:count]
            if r.get("url")
        ]

    return search


def search_backend(settings: ToolSettings) -> SearchFunction | None:
    """The configured backend, or None (no backend, or one without its URL/key)."""
    backend = settings.search_backend
    if backend == "searxng" and settings.searxng_url:
        return _searxng(settings)
    if backend == "tavily" and settings.tavily_api_key:
        return _tavily(settings)
    if backend == "brave" and settings.brave_api_key:
        return _brave(settings)
    if backend:
        log.warning(
            "web_search: TOOLS_SEARCH_BACKEND=%s lacks its URL or key; not offered", backend
        )
    return None


def web_search_tool(settings: ToolSettings) -> Tool | None:
    backend = search_backend(settings)
    if backend is None:
        return None

    async def web_search(
        query: Annotated[str, Field(description="What to search the web for")],
    ) -> ToolOutput:
        """Search the web. Returns numbered results (title, URL, snippet); cite them in
        the answer as [n]. Use read_url to read a result in full."""
        timeout = aiohttp.ClientTimeout(total=settings.search_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                found = await backend(session, query, settings.search_results)
        except (aiohttp.ClientError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise SearchFailed(f"the search backend failed ({type(exc).__name__})") from None
        if not found:
            return ToolOutput(content="No results.")
        return ToolOutput(sources=tuple(found))

    return from_function(web_search, timeout=settings.search_timeout + 5)


# ---------------------------------------------------------------------------- read_url


def _extract(page: Page) -> tuple[str, str]:
    """(title, main text) of a page."""
    raw = page.text()
    kind = page.content_type.split(";")[0].strip().lower()
    if kind in ("text/plain", "text/markdown"):
        return "", raw
    import trafilatura  # ~0.3 s to import: only when a page is read

    found = trafilatura.extract(
        raw, url=page.url, output_format="json", with_metadata=True, favor_recall=True
    )
    if found:
        data: dict[str, Any] = json.loads(found)
        return str(data.get("title") or ""), str(data.get("text") or "")
    return "", trafilatura.html2txt(raw) or ""


def cut_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    from llmdoor.runtime import _litellm

    lit = _litellm()
    tokens = lit.encode(model="gpt-4o", text=text)
    if len(tokens) <= max_tokens:
        return text, False
    return str(lit.decode(model="gpt-4o", tokens=list(tokens[:max_tokens]))), True


def read_url_tool(settings: ToolSettings) -> Tool | None:
    if not settings.read_url:
        return None

    async def read_url(
        url: Annotated[str, Field(description="The http(s) URL of the page to read")],
    ) -> ToolOutput:
        """Read a web page and return its main text (cite it as its number [n])."""
        try:
            page = await fetch(
                url,
                allow_hosts=settings.allowed_hosts,
                max_bytes=settings.fetch_max_bytes,
                timeout=settings.fetch_timeout,
                max_redirects=settings.fetch_max_redirects,
            )
        except FetchRefused as exc:
            raise FetchRefused(f"refused: {exc}") from None
        if page.status >= 400:
            raise FetchRefused(f"the page answered HTTP {page.status}")
        kind = page.content_type.split(";")[0].strip().lower()
        if kind and kind not in TEXT_TYPES:
            raise FetchRefused(f"not a web page ({kind})")
        title, text = await asyncio.to_thread(_extract, page)
        text, cut = await asyncio.to_thread(cut_to_tokens, text, settings.read_url_limit)
        if cut or page.truncated:
            text += "\n[…the page is longer; this is its beginning]"
        return ToolOutput(content=text or "(no readable text)", sources=(Source(title, page.url),))

    return from_function(read_url, timeout=settings.fetch_timeout + 10)


def builtin_tools(settings: ToolSettings) -> list[Tool]:
    """The built-in tools these settings enable (web_search only with a backend)."""
    found = [web_search_tool(settings), read_url_tool(settings)]
    return [t for t in found if t is not None]
