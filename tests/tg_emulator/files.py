"""Files Telegram keeps: what users sent and what the bot uploaded, served by getFile."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from .models import StoredFile


class FileStore:
    """Stored files by file_id; ``by_id`` is the dict tests see as ``emu.files``."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)

    def store(
        self, data: bytes, folder: str, ext: str, filename: str | None, mime: str | None
    ) -> StoredFile:
        n = next(self._ids)
        stored = StoredFile(
            file_id=f"EMU{folder[:3].upper()}{n}_{secrets.token_hex(6)}",
            file_unique_id=f"U{n}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            filename=filename,
            mime_type=mime,
        )
        self.by_id[stored.file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self.by_id.get(file_id)

    def at_path(self, path: str) -> StoredFile | None:
        """The file a download URL (``/file/bot<token>/<path>``) names."""
        return next((f for f in self.by_id.values() if f.file_path == path), None)


def media_object(kind: str, stored: StoredFile, **extra: Any) -> Any:
    """The Bot API object of a photo, document, voice or sticker."""
    base = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if kind == "photo":
        # Telegram sends several sizes; the emulator serves the same bytes for each.
        return [
            {**base, "width": 90, "height": 90},
            {**base, "width": extra.get("width", 1280), "height": extra.get("height", 960)},
        ]
    if kind == "document":
        return {**base, "file_name": stored.filename, "mime_type": stored.mime_type}
    if kind == "voice":
        return {**base, "duration": extra.get("duration", 1), "mime_type": "audio/ogg"}
    if kind == "audio":
        return {
            **base,
            "duration": extra.get("duration", 1),
            "file_name": stored.filename,
            "mime_type": stored.mime_type or "audio/mpeg",
        }
    if kind == "video_note":
        return {**base, "duration": extra.get("duration", 1), "length": 240}
    if kind == "sticker":
        return {
            **base,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": extra.get("emoji", "👍"),
        }
    return base
