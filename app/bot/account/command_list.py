"""The one list of commands: /help and the menu Telegram shows (setMyCommands) are both
built from it, for a role, a kind of chat and the features that are on, so they cannot
drift apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _

from app.services.media.service import Feature
from llmdoor import Role


@dataclass(frozen=True)
class BotCommandEntry:
    command: str
    menu: Callable[[], str]  # the menu's short description
    help: Callable[[], str]  # the /help line, starting with the command
    admins_only: bool = False
    in_groups: bool = True  # offered in group chats too (personal settings are not)
    in_private: bool = True  # offered in private chats (/catchup is for groups only)
    needs: frozenset[Feature] = frozenset()


COMMANDS: tuple[BotCommandEntry, ...] = (
    BotCommandEntry(
        "new",
        lambda: _("Start a new conversation"),
        lambda: _("/new: start a new conversation (the current one is kept)"),
    ),
    BotCommandEntry(
        "chats",
        lambda: _("Your conversations"),
        lambda: _("/chats: your conversations: open, rename, delete, export, search"),
    ),
    BotCommandEntry(
        "persona",
        lambda: _("Pick a persona"),
        lambda: _("/persona: pick or create a persona for this conversation"),
    ),
    BotCommandEntry(
        "model",
        lambda: _("Pick a model"),
        lambda: _("/model: pick a model (or /model gpt-4o to switch directly)"),
    ),
    BotCommandEntry(
        "image",
        lambda: _("Draw a picture"),
        lambda: _("/image <prompt>: draw a picture"),
        needs=frozenset({Feature.IMAGE}),
    ),
    BotCommandEntry(
        "tools",
        lambda: _("Tools: web search, pages, MCP"),
        lambda: _("/tools: web search, reading web pages and other tools, on or off"),
    ),
    BotCommandEntry(
        "catchup",
        lambda: _("What you missed in this group"),
        lambda: _("/catchup: what this group said since your last message (in groups)"),
        in_private=False,
    ),
    BotCommandEntry(
        "stop",
        lambda: _("Stop the answer being written"),
        lambda: _("/stop: stop the answer being written"),
    ),
    BotCommandEntry(
        "reasoning",
        lambda: _("Show the model's reasoning: off, on, stream"),
        lambda: _("/reasoning off|on|stream: how the model's reasoning is shown"),
        in_groups=False,
    ),
    BotCommandEntry(
        "usage",
        lambda: _("Cost footer under answers: on, off"),
        lambda: _("/usage on|off: a cost and speed footer under each answer"),
        in_groups=False,
    ),
    BotCommandEntry(
        "voice",
        lambda: _("Spoken replies to voice messages: on, off"),
        lambda: _("/voice on|off: answer voice messages with voice too"),
        in_groups=False,
        needs=frozenset({Feature.SPEECH, Feature.TRANSCRIPTION}),
    ),
    BotCommandEntry(
        "remember",
        lambda: _("Keep a fact about you in mind"),
        lambda: _("/remember <fact>: I keep it in mind in every conversation; /memory lists them"),
        in_groups=False,
    ),
    BotCommandEntry(
        "memory",
        lambda: _("What I remember about you"),
        lambda: _("/memory: what I remember about you, to forget or switch off"),
        in_groups=False,
    ),
    BotCommandEntry(
        "incognito",
        lambda: _("A conversation that leaves no trace"),
        lambda: _("/incognito: a conversation that is forgotten when it ends, without memory"),
    ),
    BotCommandEntry(
        "forgetme",
        lambda: _("Erase what I keep of you"),
        lambda: _("/forgetme: erase your memory, conversations and personas"),
        in_groups=False,
    ),
    BotCommandEntry(
        "remind",
        lambda: _("Remind me at a time"),
        lambda: _("/remind <when> <what>: a reminder, e.g. /remind tomorrow 9:00 dentist"),
    ),
    BotCommandEntry(
        "every",
        lambda: _("Run a prompt on a schedule"),
        lambda: _("/every <schedule> <prompt>: e.g. /every day 8:00 the top AI news, with sources"),
    ),
    BotCommandEntry(
        "tasks",
        lambda: _("Your reminders and schedules"),
        lambda: _("/tasks: your reminders and scheduled prompts: pause, resume, delete"),
    ),
    BotCommandEntry(
        "timezone",
        lambda: _("Your time zone for reminders"),
        lambda: _("/timezone Area/City: your time zone for reminders"),
        in_groups=False,
    ),
    BotCommandEntry(
        "me",
        lambda: _("Your spend and budget"),
        lambda: _("/me: your spend today and this month, and your budget"),
        in_groups=False,
    ),
    BotCommandEntry(
        "language",
        lambda: _("Change the language"),
        lambda: _("/language: change the bot's language"),
        in_groups=False,
    ),
    BotCommandEntry(
        "help",
        lambda: _("Help and the current model"),
        lambda: _("/help: this message"),
    ),
    BotCommandEntry(
        "stats",
        lambda: _("Usage statistics"),
        lambda: _("/stats: usage statistics (admins)"),
        admins_only=True,
        in_groups=False,
    ),
    BotCommandEntry(
        "access",
        lambda: _("Access requests, friends and budgets"),
        lambda: _("/access: access requests, friends and budgets (admins)"),
        admins_only=True,
        in_groups=False,
    ),
)


def available_commands(
    role: Role, *, private: bool, features: frozenset[Feature]
) -> list[BotCommandEntry]:
    """What ``role`` can use in this kind of chat with these features on, in menu order."""
    return [
        c
        for c in COMMANDS
        if (role is Role.ADMIN or not c.admins_only)
        and (c.in_private if private else c.in_groups)
        and c.needs <= features
    ]
