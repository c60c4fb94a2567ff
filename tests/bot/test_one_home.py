"""One home per rule in the bot layer: the kind of chat (private, group) and the forum topic
of a message are decided in app/bot/chat/threads.py only, and every other module asks it.
Written a second time somewhere, the rule would drift (a reply thread in a plain supergroup
taken for a topic, a channel taken for a group)."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest
from aiogram.types import Chat, Message

from app.bot.chat.threads import answer_thread, is_group, is_private, thread_of

BOT = Path(__file__).resolve().parents[2] / "app" / "bot"
HOME = BOT / "chat" / "threads.py"
CHAT_KINDS = {"private", "group", "supergroup", "channel"}


def _rule_sites(tree: ast.AST) -> list[str]:
    """Where a module reads the chat kind or the forum topic itself."""
    found: list[str] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id == "ChatType") or (
            isinstance(node, ast.Attribute) and node.attr == "ChatType"
        ):
            found.append(f"{node.lineno}: ChatType")
        elif isinstance(node, ast.Attribute) and node.attr == "is_topic_message":
            found.append(f"{node.lineno}: .is_topic_message")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "message_thread_id"
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")
        ):
            found.append(f"{node.lineno}: .message_thread_id")
        elif isinstance(node, ast.Constant) and node.value in CHAT_KINDS:
            found.append(f"{node.lineno}: {node.value!r}")
    return found


def _private_imports(tree: ast.AST) -> list[str]:
    return [
        f"{node.lineno}: {node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.")
        for alias in node.names
        if alias.name.startswith("_")
    ]


def test_chat_kind_and_topic_rules_live_in_one_module() -> None:
    assert HOME.exists()
    assert _rule_sites(ast.parse(HOME.read_text())), "the home module no longer holds the rule"
    elsewhere = {
        str(path.relative_to(BOT)): sites
        for path in sorted(BOT.rglob("*.py"))
        if path != HOME and (sites := _rule_sites(ast.parse(path.read_text(), str(path))))
    }
    assert elsewhere == {}, "ask app.bot.chat.threads (is_private, is_group, thread_of, ...)"


def test_no_module_of_the_app_imports_private_names_of_another() -> None:
    app = BOT.parent
    found = {
        str(path.relative_to(app)): names
        for path in sorted(app.rglob("*.py"))
        if (names := _private_imports(ast.parse(path.read_text(), str(path))))
    }
    assert found == {}


def _message(chat_type: str, *, thread: int | None = None, topic: bool | None = None) -> Message:
    return Message(
        message_id=1,
        date=datetime.now(),
        chat=Chat(id=-100 if chat_type != "private" else 5, type=chat_type),
        text="hi",
        message_thread_id=thread,
        is_topic_message=topic,
    )


@pytest.mark.parametrize(
    ("chat_type", "private", "group"),
    [
        ("private", True, False),
        ("group", False, True),
        ("supergroup", False, True),
        ("channel", False, False),
    ],
)
def test_chat_kinds(chat_type: str, private: bool, group: bool) -> None:
    chat = _message(chat_type).chat
    assert (is_private(chat), is_group(chat)) == (private, group)


@pytest.mark.parametrize(
    ("thread", "topic", "key", "send"),
    [
        (None, None, 0, None),  # no thread at all
        (7, True, 7, 7),  # a forum topic: its own conversation, answered in the topic
        (7, None, 0, None),  # a reply thread of a plain supergroup: not a topic
        (7, False, 0, None),
    ],
)
def test_forum_topic(thread: int | None, topic: bool | None, key: int, send: int | None) -> None:
    message = _message("supergroup", thread=thread, topic=topic)
    assert thread_of(message) == key
    assert answer_thread(message) == send
