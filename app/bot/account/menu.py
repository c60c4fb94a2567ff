"""The command menu Telegram shows, registered per language (and a longer one for admins)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


def user_commands() -> list[BotCommand]:
    return [
        BotCommand(command="new", description=_("Start a new conversation")),
        BotCommand(command="chats", description=_("Your conversations")),
        BotCommand(command="persona", description=_("Pick a persona")),
        BotCommand(command="model", description=_("Pick a model")),
        BotCommand(command="stop", description=_("Stop the answer being written")),
        BotCommand(
            command="reasoning", description=_("Show the model's reasoning: off, on, stream")
        ),
        BotCommand(command="usage", description=_("Cost footer under answers: on, off")),
        BotCommand(command="me", description=_("Your spend and budget")),
        BotCommand(command="tools", description=_("Tools: web search, pages, MCP")),
        BotCommand(command="memory", description=_("What I remember about you")),
        BotCommand(command="incognito", description=_("A conversation that leaves no trace")),
        BotCommand(command="language", description=_("Change the language")),
        BotCommand(command="help", description=_("Help and the current model")),
    ]


def admin_commands() -> list[BotCommand]:
    return [
        *user_commands(),
        BotCommand(command="stats", description=_("Usage statistics")),
        BotCommand(command="access", description=_("Access requests, friends and budgets")),
    ]


async def register_commands(bot: Bot, i18n: I18n, admin_ids: list[int]) -> None:
    for locale in sorted({*i18n.available_locales, i18n.default_locale}):
        language = None if locale == i18n.default_locale else locale
        with i18n.context(), i18n.use_locale(locale):
            await bot.set_my_commands(
                user_commands(), scope=BotCommandScopeDefault(), language_code=language
            )
            for admin_id in admin_ids:
                try:
                    await bot.set_my_commands(
                        admin_commands(),
                        scope=BotCommandScopeChat(chat_id=admin_id),
                        language_code=language,
                    )
                except TelegramAPIError as exc:  # an admin who never opened the bot
                    log.info("commands: admin menu for %s not set: %s", admin_id, exc)
