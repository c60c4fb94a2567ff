"""The user-visible texts of inline and guest mode (localized per update)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

#: A question shown above an inline answer is cut to this many characters.
QUESTION_SHOWN_CHARS = 300


def result_title(model: str, query: str) -> str:
    return _("Ask {model}: {query}").format(model=model, query=query)


def result_description() -> str:
    return _("Send it: the answer is written into the message.")


def empty_query_button() -> str:
    return _("✍️ Type a question after the bot's name")


def request_access_button() -> str:
    return _("🔑 Request access")


def ask_too_button() -> str:
    return _("💬 Ask too")


def writing() -> str:
    return _("⏳ Writing the answer…")


def cut_marker() -> str:
    return _(
        "✂️ Cut here: an inline message holds one message. "
        "Ask me in our private chat for the whole answer."
    )


def stopped() -> str:
    return _("⏹ Stopped.")


def stream_broke() -> str:
    return _("⚠️ The answer was cut off: the model's stream broke.")


def length_limit() -> str:
    return _("✂️ The answer reached the model's length limit.")


def empty_answer() -> str:
    return _("🤔 The model returned an empty answer. Try rephrasing.")


def guest_refusal() -> str:
    return _(
        "This is a private bot: only people its owner trusts can use it. "
        "Write to me in a private chat to ask for access."
    )


def no_access() -> str:
    return _("🔒 You don't have access to this bot: there will be no answer.")


def guest_no_question() -> str:
    return _("Yes? Write your question after the mention.")


def skipped_image() -> str:
    return _("🖼 The image was skipped: answers here are text only.")


def skipped_voice() -> str:
    return _("🎤 The voice message was skipped: answers here are text only.")


def skipped_file() -> str:
    return _("📎 The attachment was skipped: answers here are text only.")
