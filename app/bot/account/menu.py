"""The command menu Telegram shows, registered per language and kind of chat (and a longer
one for admins), from the same list as /help (app.bot.account.command_list)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from aiogram.utils.i18n import I18n

from app.bot.account.command_list import available_commands
from app.services.media.service import Feature
from llmdoor import Role

log = logging.getLogger(__name__)


def menu_commands(role: Role, *, private: bool, features: frozenset[Feature]) -> list[BotCommand]:
    return [
        BotCommand(command=c.command, description=c.menu())
        for c in available_commands(role, private=private, features=features)
    ]


async def register_commands(
    bot: Bot,
    i18n: I18n,
    admin_ids: list[int],
    *,
    friend_features: frozenset[Feature],
    admin_features: frozenset[Feature],
) -> None:
    """Friends' menus for private chats (and the default) and for groups, the admins' in
    their own chats. A stranger sees the friends' menu: Telegram knows no roles."""
    for locale in sorted({*i18n.available_locales, i18n.default_locale}):
        language = None if locale == i18n.default_locale else locale
        with i18n.context(), i18n.use_locale(locale):
            private = menu_commands(Role.FRIEND, private=True, features=friend_features)
            groups = menu_commands(Role.FRIEND, private=False, features=friend_features)
            admin = menu_commands(Role.ADMIN, private=True, features=admin_features)
            await bot.set_my_commands(
                private, scope=BotCommandScopeDefault(), language_code=language
            )
            await bot.set_my_commands(
                private, scope=BotCommandScopeAllPrivateChats(), language_code=language
            )
            await bot.set_my_commands(
                groups, scope=BotCommandScopeAllGroupChats(), language_code=language
            )
            for admin_id in admin_ids:
                try:
                    await bot.set_my_commands(
                        admin, scope=BotCommandScopeChat(chat_id=admin_id), language_code=language
                    )
                except TelegramAPIError as exc:  # an admin who never opened the bot
                    log.info("commands: admin menu for %s not set: %s", admin_id, exc)
