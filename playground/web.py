"""The playground's web side: one page and a small JSON API over the emulator's
simulated users (send text, a photo or a file, press an inline button, read the chat)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from playground.bot import USERS, Playground
from tests.tg_emulator.models import EmuMessage
from tests.tg_emulator.users import SimUser

PAGE = Path(__file__).with_name("page.html")
DRAFT_SHOWN_SECONDS = 1.5  # a draft newer than this is "being written"


def _user(playground: Playground, name: str) -> SimUser:
    if name not in USERS:
        raise web.HTTPBadRequest(text=f"unknown user {name!r}")
    id_, first_name = USERS[name]
    return playground.tg.user(id_, first_name)


def _message(m: EmuMessage) -> dict[str, Any]:
    media = m.media[-1] if isinstance(m.media, list) and m.media else m.media
    file_id = media.get("file_id") if isinstance(media, dict) else None
    return {
        "id": m.message_id,
        "from_bot": m.from_bot,
        "kind": m.kind,
        "text": m.text,
        "rich": m.is_rich,
        "edited": bool(m.edits),
        "file": f"/api/file/{file_id}" if file_id and m.kind == "photo" else None,
        "buttons": [{"text": b.get("text", ""), "data": b.get("callback_data")} for b in m.buttons],
    }


def _state(playground: Playground, user: SimUser) -> dict[str, Any]:
    chat = user.chat
    messages = [_message(m) for m in chat.messages if not m.deleted]
    drafts = playground.tg.drafts(user.id)
    draft = None
    if drafts and time.monotonic() - drafts[-1].time < DRAFT_SHOWN_SECONDS:
        draft = {"id": drafts[-1].draft_id, "text": drafts[-1].text}
    return {
        "user": {"id": user.id, "name": user.first_name},
        "messages": messages,
        "draft": draft,
        "fake_model": playground.fake is not None,
    }


def create_web_app(playground: Playground) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/")
    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")

    @routes.get("/api/state")
    async def state(request: web.Request) -> web.Response:
        user = _user(playground, request.query.get("user", "friend"))
        return web.json_response(_state(playground, user))

    @routes.post("/api/send")
    async def send(request: web.Request) -> web.Response:
        body = await request.json()
        user = _user(playground, str(body.get("user", "friend")))
        text = str(body.get("text", "")).strip()
        if text:
            await user.send(text)
        return web.json_response({"ok": True})

    @routes.post("/api/press")
    async def press(request: web.Request) -> web.Response:
        body = await request.json()
        user = _user(playground, str(body.get("user", "friend")))
        found = next((m for m in user.chat.messages if m.message_id == body.get("message")), None)
        if found is None:
            raise web.HTTPNotFound(text="no such message")
        await user.press(found, str(body.get("data")), wait_answer=False)
        return web.json_response({"ok": True})

    @routes.post("/api/upload")
    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        user = _user(playground, str(form.get("user", "friend")))
        sent = form.get("file")
        caption = str(form.get("caption", "")) or None
        if not isinstance(sent, web.FileField):
            raise web.HTTPBadRequest(text="no file")
        data = sent.file.read()
        if (sent.content_type or "").startswith("image/"):
            await user.send_photo(data, caption)
        else:
            await user.send_document(
                data, sent.filename or "file.txt", sent.content_type or "text/plain", caption
            )
        return web.json_response({"ok": True})

    @routes.get("/api/file/{file_id}")
    async def file(request: web.Request) -> web.Response:
        stored = playground.tg.file(request.match_info["file_id"])
        return web.Response(body=stored.data, content_type=stored.mime_type or "image/png")

    app = web.Application(client_max_size=25 * 1024 * 1024)
    app.add_routes(routes)
    return app
