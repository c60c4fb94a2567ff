"""/start, /help, /new, /language."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from app.bot.account.command_list import available_commands
from app.bot.account.owner_guide import owner_guide_lines
from app.bot.account.rich_reply import reply_rich
from app.bot.chat.sink import remove_buttons
from app.bot.chat.threads import conversation_key, is_private
from app.bot.delivery.rich_support import RichMessages
from app.bot.media.texts import help_lines
from app.bot.memory import texts as memory_texts
from app.bot.rendering.usage_texts import me_markdown, me_text
from app.services.chat.service import ChatService, buttons_message
from app.services.conversations.service import ConversationService, NewConversation
from app.services.media.service import Feature, MediaService
from app.services.spend import SpendService
from app.storage import Storage, UserRecord
from app.storage.errors import StorageUnavailable
from app.storage.patience import patiently
from llmdoor import Caller, Role

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


class LanguageCallback(CallbackData, prefix="lang"):
    code: str


def help_text(
    role: Role,
    model: str,
    extra: Sequence[str] = (),
    *,
    private: bool,
    features: frozenset[Feature],
) -> str:
    """/help as HTML (``extra``: lines already escaped)."""
    intro, commands = _help_parts(role, private, features)
    lines = [
        intro,
        "",
        _("Current model: {model}").format(model=f"<code>{html.escape(model)}</code>"),
        "",
        *(html.escape(line, quote=False) for line in commands),
        *extra,
    ]
    return "\n".join(lines)


def help_markdown(
    role: Role,
    model: str,
    extra: Sequence[str] = (),
    *,
    private: bool,
    features: frozenset[Feature],
) -> str:
    """/help as Markdown for a rich message: the commands as a list (``extra``: plain)."""
    intro, commands = _help_parts(role, private, features)
    model_line = _("Current model: {model}").format(model=f"`{model.replace('`', '')}`")
    items = [*commands, *extra]
    return "\n\n".join(
        [intro, model_line, "\n".join(f"- {_markdown_safe(line)}" for line in items)]
    )


def _markdown_safe(line: str) -> str:
    # Command lines are text: "_" and "*" in them are not emphasis.
    return line.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def _help_parts(role: Role, private: bool, features: frozenset[Feature]) -> tuple[str, list[str]]:
    intro = _(
        "Just write me a message and I'll answer with an AI model, keeping the "
        "conversation's context."
    )
    entries = available_commands(role, private=private, features=features)
    return intro, [c.help() for c in entries]


def create_commands_router() -> Router:
    router = Router(name="commands")

    @router.message(CommandStart())
    async def start(
        message: Message,
        role: Role,
        caller: Caller,
        user_record: UserRecord,
        chat_service: ChatService,
        media: MediaService,
        spend: SpendService,
        rich_messages: RichMessages,
    ) -> None:
        first_name = message.from_user.first_name if message.from_user else ""
        features = await media.features(role)
        model = chat_service.model_for(user_record)
        greeting = _("Hi, {name}! 👋").format(name=html.escape(first_name))
        private = is_private(message.chat)
        heading = "### " + _("Hi, {name}! 👋").format(name=_markdown_safe(first_name))
        if role is Role.ADMIN and private:
            # The owner needs the first steps, not the list every friend gets.
            guide = owner_guide_lines()
            text = "\n\n".join([greeting, *(html.escape(line, quote=False) for line in guide)])
            markdown = "\n\n".join([heading, *(_markdown_safe(line) for line in guide)])
        else:
            lines = help_lines(features)
            text = f"{greeting}\n\n" + help_text(
                role, model, lines, private=private, features=features
            )
            plain = help_lines(features, escape=False)
            markdown = "\n\n".join(
                [heading, help_markdown(role, model, plain, private=private, features=features)]
            )
        with contextlib.suppress(StorageUnavailable):  # the greeting goes out regardless
            summary = await spend.summary(caller)
            text += "\n\n" + html.escape(me_text(summary))
            markdown += "\n\n" + me_markdown(summary)
        await reply_rich(message, markdown, fallback=text, parse_mode="HTML", rich=rich_messages)

    @router.message(Command("help"))
    async def help_(
        message: Message,
        role: Role,
        user_record: UserRecord,
        chat_service: ChatService,
        media: MediaService,
        rich_messages: RichMessages,
    ) -> None:
        features = await media.features(role)
        model = chat_service.model_for(user_record)
        private = is_private(message.chat)
        await reply_rich(
            message,
            help_markdown(
                role, model, help_lines(features, escape=False), private=private, features=features
            ),
            fallback=help_text(
                role, model, help_lines(features), private=private, features=features
            ),
            parse_mode="HTML",
            rich=rich_messages,
        )

    @router.message(Command("new"))
    async def new(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        conversations: ConversationService,
        bot_limiter: AsyncLimiter,
        storage: Storage,
    ) -> None:
        key = conversation_key(message, user_record.user_id)

        async def switch() -> tuple[int | None, NewConversation]:
            # The old conversation's last answer keeps no buttons: they act on the active one.
            old = buttons_message((await conversations.active(key, user_record.model)).turns)
            return old, await conversations.start_new(key, user_record.model)

        try:
            # A /new matters: it waits a little for a slow or briefly unavailable database.
            old_buttons, started = await patiently(storage.breaker, switch)
        except StorageUnavailable:
            # The user stays in the old conversation, and knows it.
            await message.answer(_("⚠️ The database is unavailable right now. Try again later."))
            return
        if started.reused:  # the active one had no messages: it is the new one
            text = _("🆕 New conversation started. What's on your mind?")
        else:
            text = _(
                "🆕 New conversation started; the previous one is kept in /chats. "
                "What's on your mind?"
            )
        if started.archived:
            titles = ", ".join(f"«{c.title or _('untitled')}»" for c in started.archived)
            text += "\n\n" + _(
                "📦 Archived to stay within {limit} conversations: {titles}. "
                "Find them under Archived in /chats."
            ).format(limit=conversations.max_per_user, titles=titles)
        await message.answer(text)
        if old_buttons is not None:
            await remove_buttons(bot, message.chat.id, old_buttons, bot_limiter)

    @router.message(Command("incognito"))
    async def incognito(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        conversations: ConversationService,
        bot_limiter: AsyncLimiter,
    ) -> None:
        key = conversation_key(message, user_record.user_id)
        try:
            old = await conversations.active(key, user_record.model)
            await conversations.start_incognito(key, user_record.model)
        except StorageUnavailable:
            await message.reply(memory_texts.storage_down())
            return
        await message.answer(memory_texts.incognito_started())
        old_buttons = buttons_message(old.turns)
        if old_buttons is not None:  # they act on the active conversation only
            await remove_buttons(bot, message.chat.id, old_buttons, bot_limiter)

    @router.message(Command("language"))
    async def language(message: Message, i18n: I18n) -> None:
        buttons = [
            InlineKeyboardButton(
                text=LANGUAGE_NAMES.get(code, code),
                callback_data=LanguageCallback(code=code).pack(),
            )
            for code in sorted(i18n.available_locales)
        ]
        await message.answer(
            _("Choose the bot's language:"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
        )

    @router.callback_query(LanguageCallback.filter())
    async def set_language(
        query: CallbackQuery, callback_data: LanguageCallback, storage: Storage, i18n: I18n
    ) -> None:
        if callback_data.code not in i18n.available_locales:  # forged or stale button
            await query.answer(_("This menu has expired."), show_alert=True)
            return
        await storage.users.set_language(query.from_user.id, callback_data.code)
        with i18n.use_locale(callback_data.code):
            text = _("Language set: {language}").format(
                language=LANGUAGE_NAMES.get(callback_data.code, callback_data.code)
            )
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(text)

    return router
