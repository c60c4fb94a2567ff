"""Buttons of inline and guest mode."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultsButton

from app.bot.inline import texts

#: ``/start`` parameters of the buttons that switch to the bot's private chat.
START_ACCESS = "access"
START_INLINE = "inline"


def request_access_results_button() -> InlineQueryResultsButton:
    """Above a stranger's (empty) results: to the private chat, where access is asked."""
    return InlineQueryResultsButton(
        text=texts.request_access_button(), start_parameter=START_ACCESS
    )


def empty_query_results_button() -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=texts.empty_query_button(), start_parameter=START_INLINE)


def ask_too_keyboard() -> InlineKeyboardMarkup:
    """Under the placeholder of an inline answer. Telegram gives the chosen result an
    inline_message_id (which the answer is streamed into) only when it has a keyboard;
    this one lets whoever reads it ask the bot in the same chat."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=texts.ask_too_button(), switch_inline_query_current_chat="")]
        ]
    )


def private_chat_keyboard(bot_username: str) -> InlineKeyboardMarkup:
    """Under a guest refusal: the bot's private chat, where a stranger may ask for access."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=texts.request_access_button(),
                    url=f"https://t.me/{bot_username}?start={START_ACCESS}",
                )
            ]
        ]
    )
