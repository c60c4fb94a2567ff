"""Conversation export: a Markdown document to read and a JSON document with the roles,
models and times, each split into parts below Telegram's document size limit. Labels are
msgids translated by the injected ``translate``; no Telegram here. Built off the event
loop (``ExportService.build``)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.storage import Conversation, Turn
from app.storage.base import DEFAULT_MAX_TURNS

Translate = Callable[[str], str]


def __(msgid: str) -> str:
    """Marks a msgid for extraction; ``translate`` translates it when it is used."""
    return msgid


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    mime_type: str


def _same(text: str) -> str:
    return text


def slug(title: str) -> str:
    words = re.findall(r"\w+", title.lower())
    return "-".join(words)[:40].strip("-") or "conversation"


def _pieces(turn: Turn, max_bytes: int) -> Iterator[Turn]:
    """A turn too large for one part, as consecutive pieces of at most ``max_bytes`` of
    UTF-8 each (nothing is dropped)."""
    text = turn.content
    if len(text.encode()) <= max_bytes:
        yield turn
        return
    piece: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > max_bytes:
            yield turn.model_copy(update={"content": "".join(piece)})
            piece, size = [], 0
        piece.append(char)
        size += width
    if piece:
        yield turn.model_copy(update={"content": "".join(piece)})


_JSON_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def _json_width(char: str) -> int:
    """Bytes ``char`` takes inside a JSON string (``ensure_ascii=False``, UTF-8)."""
    if char in _JSON_SHORT_ESCAPES:
        return 2  # \" \\ \n ...
    if char < " ":
        return 6  # \u00XX
    return len(char.encode())


def _json_pieces(turn: Turn, room: int, block: Callable[[Turn], bytes]) -> Iterator[Turn]:
    """A turn as consecutive pieces whose JSON ``block`` is at most ``room`` bytes each,
    counted as encoded (escapes included), not as raw text (nothing is dropped)."""
    if len(block(turn)) <= room:
        yield turn
        return
    budget = room - len(block(turn.model_copy(update={"content": ""})))
    if budget < 6:
        raise ValueError("export part too small for one turn's fields")
    piece: list[str] = []
    size = 0
    for char in turn.content:
        width = _json_width(char)
        if size + width > budget:
            yield turn.model_copy(update={"content": "".join(piece)})
            piece, size = [], 0
        piece.append(char)
        size += width
    if piece:
        yield turn.model_copy(update={"content": "".join(piece)})


def _pack(blocks: list[bytes], header: Callable[[int, int], bytes], limit: int) -> list[bytes]:
    """Greedy: as many whole blocks per part as fit with the part's header."""
    parts: list[list[bytes]] = [[]]
    room = limit - len(header(99, 99))
    used = 0
    for block in blocks:
        if parts[-1] and used + len(block) > room:
            parts.append([])
            used = 0
        parts[-1].append(block)
        used += len(block)
    total = len(parts)
    return [header(i + 1, total) + b"".join(p) for i, p in enumerate(parts)]


class ExportService:
    def __init__(
        self,
        *,
        translate: Translate = _same,
        part_bytes: int = 45_000_000,
        max_turns: int = DEFAULT_MAX_TURNS,
    ) -> None:
        self._t = translate
        self.part_bytes = part_bytes
        self.max_turns = max_turns  # what storage keeps of a conversation (the newest)

    def _trimmed(self, conv: Conversation) -> bool:
        """Storage keeps the newest ``max_turns``: at that count older ones may be gone."""
        return len(conv.turns) >= self.max_turns

    def _stamp(self, turn: Turn) -> str:
        return turn.created_at.strftime("%Y-%m-%d %H:%M UTC")

    def _role(self, turn: Turn) -> str:
        if turn.role == "user":
            return self._t(__("User"))
        if turn.role == "assistant":
            return self._t(__("Assistant"))
        return self._t(__("System"))

    async def build(self, conv: Conversation, persona: str, title: str) -> list[ExportFile]:
        """``export`` in a worker thread: a conversation of tens of megabytes takes a good
        part of a second to encode, which must not stall every other chat on the event
        loop. The thread sees the caller's context (the user's locale for ``translate``)."""
        return await asyncio.to_thread(self.export, conv, persona, title)

    def export(self, conv: Conversation, persona: str, title: str) -> list[ExportFile]:
        """The documents, built here and now (blocking; see ``build``)."""
        base = f"{slug(title)}-{conv.created_at:%Y%m%d}"
        # Each block must fit a part with its header; half the part leaves ample room.
        turns = [p for t in conv.turns for p in _pieces(t, self.part_bytes // 2)]
        return [
            *self._files(base, "md", "text/markdown", self._markdown(conv, persona, title, turns)),
            *self._files(base, "json", "application/json", self._json(conv, persona, title)),
        ]

    def _files(self, base: str, ext: str, mime: str, parts: list[bytes]) -> list[ExportFile]:
        if len(parts) == 1:
            return [ExportFile(f"{base}.{ext}", parts[0], mime)]
        return [
            ExportFile(f"{base}-part{i}of{len(parts)}.{ext}", data, mime)
            for i, data in enumerate(parts, 1)
        ]

    def _markdown(
        self, conv: Conversation, persona: str, title: str, turns: list[Turn]
    ) -> list[bytes]:
        model = conv.model or self._t(__("default model"))
        meta = self._t(__("Created {created} · model {model} · persona {persona}")).format(
            created=conv.created_at.strftime("%Y-%m-%d %H:%M UTC"), model=model, persona=persona
        )
        if self._trimmed(conv):
            trimmed = __(
                "Only the newest {count} messages are kept; earlier ones are not in this export."
            )
            meta += "\n\n" + self._t(trimmed).format(count=self.max_turns)
        if conv.summary:
            label = self._t(__("Summary of the earlier messages (the model reads it instead):"))
            quoted = "\n".join(f"> {line}" for line in conv.summary.splitlines())
            meta += f"\n\n{label}\n\n{quoted}"

        def header(part: int, total: int) -> bytes:
            suffix = (
                " " + self._t(__("(part {part} of {total})")).format(part=part, total=total)
                if total > 1
                else ""
            )
            return f"# {title}{suffix}\n\n{meta}\n\n".encode()

        blocks = []
        # Tool calls and their results are in the JSON; the Markdown is the conversation.
        for turn in (t for t in turns if t.role != "tool" and t.content.strip()):
            who = self._role(turn)
            if turn.role == "assistant" and turn.model:
                who = f"{who} ({turn.model})"
            blocks.append(f"### {who} · {self._stamp(turn)}\n\n{turn.content}\n\n".encode())
        return _pack(blocks, header, self.part_bytes)

    def _json(self, conv: Conversation, persona: str, title: str) -> list[bytes]:
        # Every part is a whole JSON document: the same fields, its share of the turns. The
        # parts are packed by their encoded size (escapes expand text), so each fits.
        head: dict[str, Any] = {
            "id": conv.id,
            "title": title,
            "model": conv.model,
            "persona": persona,
            "created_at": conv.created_at.isoformat(),
            "updated_at": conv.updated_at.isoformat(),
        }
        if self._trimmed(conv):
            head["older_turns_trimmed"] = True  # only the newest max_turns are stored
        if conv.summary and conv.summary_until is not None:
            # The model reads this summary instead of the turns up to summary_until.
            head["summary"] = conv.summary
            head["summary_until"] = conv.summary_until.isoformat()

        def document(part: int, parts: int, turns: list[bytes]) -> bytes:
            # The turns are spliced in already encoded: one json.dumps of a whole part
            # would hold the GIL for its full size (hundreds of ms for tens of MB). The
            # bytes are what dumps would write ("turns" last, ", " between items).
            frame = json.dumps(head | {"part": part, "parts": parts}, ensure_ascii=False)
            return frame[:-1].encode() + b', "turns": [' + b", ".join(turns) + b"]}"

        def block(t: Turn) -> bytes:
            return _dumps(_turn_json(t))

        # An empty document with wide part numbers: what a part holds besides its turns.
        frame = len(document(10**6, 10**6, []))
        room = self.part_bytes - frame
        groups: list[list[bytes]] = [[]]
        used = 0
        for turn in conv.turns:
            for piece in _json_pieces(turn, room, block):
                data = block(piece)
                extra = len(data) + (2 if groups[-1] else 0)  # ", " between turns
                if groups[-1] and used + extra > room:
                    groups.append([])
                    used, extra = 0, len(data)
                groups[-1].append(data)
                used += extra
        total = len(groups)
        return [document(i, total, group) for i, group in enumerate(groups, 1)]


def _turn_json(t: Turn) -> dict[str, Any]:
    return (
        {
            "role": t.role,
            "content": t.content,
            "model": t.model,
            "created_at": t.created_at.isoformat(),
        }
        | ({"name": t.name} if t.name else {})
        | ({"tool_calls": t.tool_calls} if t.tool_calls else {})
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


__all__ = ["ExportFile", "ExportService", "slug"]
