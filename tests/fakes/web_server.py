"""A local web for the tool tests, on 127.0.0.1 (real HTTP): a stub SearXNG JSON API, a stub
Tavily/Brave API, and pages to read (an article with boilerplate around it, redirects to
private and metadata addresses, a large page, a binary file).

    async with FakeWeb() as web:
        web.results["weather in Oslo"] = [("Oslo weather", "https://yr.example/oslo", "Sunny")]
        web.url("/article") -> "http://127.0.0.1:<port>/article"
        web.hits -> paths requested, in order; web.searches -> queries received
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ARTICLE_TEXT = (
    "The lighthouse at Lindesnes was first lit in 1656. It stands at the southernmost tip "
    "of mainland Norway and its keepers lived there with their families for generations. "
    "Today the station is a museum, and the light still guides ships around the cape."
)

ARTICLE = f"""<!doctype html><html><head><title>Lindesnes lighthouse</title></head><body>
<nav><a href="/">Home</a> | <a href="/shop">Shop</a> | Cookie settings | Subscribe now</nav>
<article><h1>Lindesnes lighthouse</h1>
<p>{ARTICLE_TEXT}</p>
<p>The first light was a coal fire in an open brazier; the present tower dates from 1915
and its lens was made in Paris.</p>
</article>
<footer>Copyright 2026 Example News. All rights reserved. Privacy policy.</footer>
</body></html>"""


@dataclass
class FakeWeb:
    host: str = "127.0.0.1"
    port: int = 0
    # query -> [(title, url, snippet)]; unknown queries get no results.
    results: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    search_headers: list[dict[str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    @property
    def searxng_url(self) -> str:
        return self.url("/searxng")

    async def __aenter__(self) -> FakeWeb:
        app = web.Application()
        app.router.add_get("/searxng/search", self._searxng)
        app.router.add_post("/tavily/search", self._tavily)
        app.router.add_get("/brave/search", self._brave)
        app.router.add_get("/{path:.*}", self._page)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _found(self, query: str) -> list[tuple[str, str, str]]:
        self.searches.append(query)
        return self.results.get(query, [])

    async def _searxng(self, request: web.Request) -> web.Response:
        self.search_headers.append(dict(request.headers))
        if request.query.get("format") != "json":
            return web.Response(status=403, text="format not enabled")
        rows = [
            {"title": t, "url": u, "content": s, "engine": "stub"}
            for t, u, s in self._found(request.query.get("q", ""))
        ]
        return web.json_response({"query": request.query.get("q"), "results": rows})

    async def _tavily(self, request: web.Request) -> web.Response:
        self.search_headers.append(dict(request.headers))
        body: dict[str, Any] = await request.json()
        rows = [{"title": t, "url": u, "content": s} for t, u, s in self._found(body["query"])]
        return web.json_response({"query": body["query"], "results": rows})

    async def _brave(self, request: web.Request) -> web.Response:
        self.search_headers.append(dict(request.headers))
        rows = [
            {"title": t, "url": u, "description": s}
            for t, u, s in self._found(request.query.get("q", ""))
        ]
        return web.json_response({"web": {"results": rows}})

    async def _page(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.hits.append(path)
        if path == "/article":
            return web.Response(text=ARTICLE, content_type="text/html")
        if path == "/plain":
            return web.Response(text="just plain text", content_type="text/plain")
        if path == "/secret":
            return web.Response(
                text="internal admin panel: the secret is 42", content_type="text/html"
            )
        if path == "/to-secret":  # a redirect into the bot's own network
            raise web.HTTPFound(self.url("/secret"))
        if path == "/to-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if path == "/redirect":  # to wherever ?to= says
            raise web.HTTPFound(request.query["to"])
        if path == "/to-article":
            raise web.HTTPFound("/article")
        if path == "/loop":
            raise web.HTTPFound("/loop")
        if path == "/huge":
            para = "<p>" + ("word " * 200) + "</p>"
            return web.Response(
                text="<html><body>" + para * 400 + "</body></html>", content_type="text/html"
            )
        if path == "/slow":
            await asyncio.sleep(5)
            return web.Response(text="too late", content_type="text/plain")
        if path == "/binary":
            return web.Response(body=b"\x00\x01" * 100, content_type="application/octet-stream")
        return web.Response(status=404, text="not found")
