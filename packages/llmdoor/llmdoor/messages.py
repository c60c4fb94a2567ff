"""Building the OpenAI-format message list litellm expects, images included."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

ChatMessage = dict[str, Any]
TOOL_KEYS = ("tool_calls", "tool_call_id", "name")


class Attachment(BaseModel):
    """An image to show the model, e.g. a Telegram photo downloaded as bytes."""

    model_config = ConfigDict(frozen=True)

    data: bytes
    mime_type: str = "image/jpeg"

    @field_validator("mime_type")
    @classmethod
    def _image_only(cls, value: str) -> str:
        if not value.startswith("image/"):
            raise ValueError(f"only image attachments are supported, got {value!r}")
        return value

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def build_messages(
    prompt: str,
    system_message: str | None = None,
    chat_history: Sequence[ChatMessage] | None = None,
    attachments: Sequence[Attachment] | None = None,
) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    if system_message:
        messages.append({"role": "system", "content": system_message})
    for turn in chat_history or ():
        message = {"role": turn["role"], "content": turn["content"]}
        # Tool calls and their results travel in litellm's (OpenAI's) format.
        for key in TOOL_KEYS:
            if turn.get(key):
                message[key] = turn[key]
        messages.append(message)
    if attachments:
        parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        parts += [{"type": "image_url", "image_url": {"url": a.data_url()}} for a in attachments]
        messages.append({"role": "user", "content": parts})
    else:
        messages.append({"role": "user", "content": prompt})
    return messages
