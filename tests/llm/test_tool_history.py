"""Tool turns in a conversation: sent back in litellm's format, and a history trimmed to
fit the context window drops a tool result together with its call."""

from __future__ import annotations

from app.services.chat.tool_answer import turn_message, turns_of, without_tool_turns
from app.storage import Turn
from llmdoor import ensure_loaded
from llmdoor.chat.history import fit_history
from llmdoor.messages import build_messages

CALL = {"id": "c1", "type": "function", "function": {"name": "web_search", "arguments": "{}"}}


def _exchange(n: int, size: int) -> list[dict[str, object]]:
    return [
        {"role": "user", "content": f"question {n}"},
        {"role": "assistant", "content": "", "tool_calls": [dict(CALL, id=f"c{n}")]},
        {"role": "tool", "tool_call_id": f"c{n}", "name": "web_search", "content": "word " * size},
        {"role": "assistant", "content": f"answer {n}"},
    ]


def test_tool_fields_reach_the_model() -> None:
    history = _exchange(1, 3)
    messages = build_messages("next", "sys", history)
    assert messages[2]["tool_calls"][0]["id"] == "c1"
    assert messages[3] == history[2]
    assert "tool_calls" not in messages[1] and "name" not in messages[1]


async def test_trimming_never_leaves_a_result_without_its_call() -> None:
    await ensure_loaded()
    # Every cut point in a history of two exchanges with big tool results.
    history = _exchange(1, 2000) + _exchange(2, 2000)
    for window in range(2500, 9000, 250):
        kept = fit_history("openai/unknown-model", None, history, "new", 500, window)
        ids_called = {c["id"] for m in kept for c in m.get("tool_calls") or []}
        for m in kept:
            if m["role"] == "tool":
                assert m["tool_call_id"] in ids_called, (window, kept)
        assert not kept or kept[0]["role"] == "user"
    # With room for only the newest exchange, the first goes whole.
    kept = fit_history("openai/unknown-model", None, history, "new", 500, 4000)
    assert [m.get("content") for m in kept if m["role"] == "user"] == ["question 2"]


def test_stored_turns_round_trip_and_plain_history() -> None:
    messages = _exchange(1, 2)
    turns = turns_of(messages)
    assert [t.role for t in turns] == ["assistant", "tool"]  # the tool part only
    assert turn_message(turns[0]) == {"role": "assistant", "content": "", "tool_calls": [CALL]}
    assert turn_message(turns[1]) == messages[2]
    assert turn_message(Turn(role="user", content="hi")) == {"role": "user", "content": "hi"}
    assert without_tool_turns(messages) == [messages[0], messages[3]]
