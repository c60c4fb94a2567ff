"""Structured output: ask for JSON matching a pydantic schema and parse the reply."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from llmdoor.chat.completion import text_of
from llmdoor.errors import StructuredOutputError
from llmdoor.options import OwnOptions

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def ask_for_schema(own: OwnOptions, passthrough: dict[str, Any], schema: type[BaseModel]) -> None:
    """Put the schema into the system message (for models without response_format) and
    into response_format (for those with it)."""
    hint = "Reply with only a JSON object that matches this JSON schema:\n" + json.dumps(
        schema.model_json_schema()
    )
    system = own.get("system_message")
    own["system_message"] = f"{system}\n\n{hint}" if system else hint
    passthrough.setdefault("response_format", schema)


def parse_structured(text: str, schema: type[M], model_id: str) -> M:
    fenced = _FENCE.match(text)
    payload = fenced.group(1) if fenced else text.strip()
    try:
        return schema.model_validate_json(payload)
    except ValidationError as exc:
        problems = exc.errors()
        where = ".".join(str(p) for p in problems[0]["loc"]) if problems else ""
        reason = problems[0]["msg"] if problems else "invalid"
        raise StructuredOutputError(
            f"{model_id} replied with something that is not a valid {schema.__name__} "
            f"({where or 'reply'}: {reason}).",
            model=model_id,
            raw=text,
        ) from None


def parser(schema: type[M], model_id: str) -> Callable[[Any], M]:
    def parse(response: Any) -> M:
        return parse_structured(text_of(response), schema, model_id)

    return parse
