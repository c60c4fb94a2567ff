"""What the bot asks about itself, chats and files, and its command menus."""

from __future__ import annotations

from typing import Any

from ..state import EmulatorState
from ..wire import bad_request, scope_key
from .common import chat_for
from .table import Handler, Request


async def get_me(state: EmulatorState, req: Request) -> Any:
    return {
        **state.bot.as_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": not state.bot.privacy_mode,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_chat(state: EmulatorState, req: Request) -> Any:
    chat = chat_for(state, req.params)
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    return {
        **chat.chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
    }


MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


async def get_file(state: EmulatorState, req: Request) -> Any:
    stored = state.files.get(str(req.params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")  # the cloud Bot API serves bots 20 MB at most
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": stored.file_path,
    }


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    return scope_key(params.get("scope")), str(params.get("language_code") or "")


def _valid_command(name: str) -> bool:
    return 1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)


async def set_my_commands(state: EmulatorState, req: Request) -> Any:
    commands = req.params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    clean = []
    for cmd in commands:
        name = str(cmd.get("command", "")) if isinstance(cmd, dict) else ""
        desc = str(cmd.get("description", "")) if isinstance(cmd, dict) else ""
        if not _valid_command(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(desc) <= 256:
            raise bad_request("command description must be non-empty")
        clean.append({"command": name, "description": desc})
    state.commands[_commands_key(req.params)] = clean
    return True


async def get_my_commands(state: EmulatorState, req: Request) -> Any:
    return state.commands.get(_commands_key(req.params), [])


async def delete_my_commands(state: EmulatorState, req: Request) -> Any:
    state.commands.pop(_commands_key(req.params), None)
    return True


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "getChat": get_chat,
    "getFile": get_file,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
}
