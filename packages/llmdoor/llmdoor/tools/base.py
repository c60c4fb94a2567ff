"""What a tool is: a name, a description, a JSON schema of its arguments and a function.

``as_tool`` turns plain Python callables into tools: the schema comes from the signature
through pydantic (type hints, defaults, ``Annotated[..., Field(description=...)]``), or
from the model class when the function takes one Pydantic model. Sync functions run in a
worker thread so a slow one does not block the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError, create_model

ToolFunction = Callable[..., Any]
# OpenAI's rule for function names; other vendors accept a subset of it at least.
_NAME = re.compile(r"[^A-Za-z0-9_-]")


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the tool's schema (it is told, and may retry)."""


@dataclass(frozen=True)
class Source:
    """A page a tool read or found: cited in the answer as a numbered link."""

    title: str
    url: str
    snippet: str = ""


@dataclass(frozen=True)
class ToolOutput:
    """A tool's result with the sources it came from; the loop numbers the sources (one
    numbering per answer) and puts them in front of ``content`` for the model."""

    content: str = ""
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Tool:
    """A tool the model may call. ``run`` gets the arguments as the model sent them."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    run: Callable[[dict[str, Any]], Awaitable[Any]]
    timeout: float | None = None  # seconds; None: the loop's default
    # Free-form labels for whoever offers tools (e.g. {"builtin"} or {"mcp", "server"}).
    tags: frozenset[str] = field(default_factory=frozenset)

    def schema(self) -> dict[str, Any]:
        """The tool as litellm's ``tools=`` list expects it (OpenAI format)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


def safe_name(name: str) -> str:
    """A function name every vendor accepts (letters, digits, _ and -; at most 64)."""
    return _NAME.sub("_", name)[:64] or "tool"


def _describe(func: ToolFunction) -> str:
    doc = inspect.getdoc(func) or ""
    # The first paragraph: the rest of a docstring is usually for programmers.
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip() or func.__name__


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.setdefault("properties", {})
    schema["type"] = "object"
    return schema


async def _call(func: ToolFunction, *args: Any, **kwargs: Any) -> Any:
    if inspect.iscoroutinefunction(func):
        return await func(*args, **kwargs)
    result = await asyncio.to_thread(func, *args, **kwargs)
    if inspect.isawaitable(result):  # a sync wrapper that returns a coroutine
        return await result
    return result


def from_function(
    func: ToolFunction,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool:
    """A Tool from a function's signature (see the module docstring)."""
    hints = get_type_hints(func, include_extras=True)
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    only = hints.get(params[0].name) if len(params) == 1 else None
    if isinstance(only, type) and issubclass(only, BaseModel):
        model: type[BaseModel] = only
        arg_name: str | None = params[0].name
    else:
        fields: dict[str, Any] = {
            p.name: (
                hints.get(p.name, Any),
                ... if p.default is inspect.Parameter.empty else p.default,
            )
            for p in params
        }
        model = create_model(f"{func.__name__}_arguments", **fields)
        arg_name = None

    async def run(arguments: dict[str, Any]) -> Any:
        try:
            parsed = model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False)
            )
            raise ToolArgumentsError(problems) from None
        if arg_name is not None:
            return await _call(func, **{arg_name: parsed})
        return await _call(func, **{key: getattr(parsed, key) for key in model.model_fields})

    return Tool(
        name=safe_name(name or func.__name__),
        description=description or _describe(func),
        parameters=_schema(model),
        run=run,
        timeout=timeout,
    )


def tool(
    name: str | None = None, *, description: str | None = None, timeout: float | None = None
) -> Callable[[ToolFunction], Tool]:
    """Decorator: ``@tool()`` over a function makes it a Tool with these overrides."""

    def wrap(func: ToolFunction) -> Tool:
        return from_function(func, name=name, description=description, timeout=timeout)

    return wrap


def as_tool(item: Tool | ToolFunction) -> Tool:
    if isinstance(item, Tool):
        return item
    if callable(item):
        return from_function(item)
    raise TypeError(f"not a tool: {type(item).__name__} (pass a Tool or a function)")


def is_runnable(tools: Sequence[Any] | None) -> bool:
    """Whether ``tools=`` asks for the tool loop: Tools or functions. A list of plain
    schema dicts is litellm's own ``tools=`` and passes through untouched, as before."""
    return bool(tools) and not all(isinstance(t, Mapping) for t in tools or ())


def render_result(result: Any) -> tuple[str, tuple[Source, ...]]:
    """A tool's return value as the text the model reads, and its sources."""
    if isinstance(result, ToolOutput):
        return result.content, result.sources
    if isinstance(result, str):
        return result, ()
    if isinstance(result, BaseModel):
        return result.model_dump_json(), ()
    try:
        return json.dumps(result, ensure_ascii=False, default=str), ()
    except (TypeError, ValueError):
        return str(result), ()
