"""What the bot says about memory, in the user's language."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from app.services.memory.service import Remembered, RememberResult


def remember_usage() -> str:
    return _(
        "🧠 Write the fact after the command, e.g. /remember I'm vegetarian. I'll keep it "
        "in mind in every conversation with you; /memory lists what I keep."
    )


def remembered(result: RememberResult, max_facts: int) -> str:
    if result.status is Remembered.FULL:
        return _(
            "🧠 I already keep {count} facts, the most I keep. Forget some in /memory first."
        ).format(count=max_facts)
    if result.status is Remembered.EMPTY:
        return remember_usage()
    fact = result.fact.text if result.fact else ""
    if result.status is Remembered.ALREADY:
        return _("🧠 I already keep this: {fact}").format(fact=fact)
    return _("🧠 I'll remember: {fact}").format(fact=fact)


def storage_down() -> str:
    return _("⚠️ The database is unavailable right now. Try again later.")


def forgetme_question() -> str:
    return _(
        "🗑 Erase everything I keep of what you wrote: your memory, all your conversations "
        "(in every chat) and your personas? This cannot be undone. Usage records (tokens "
        "and cost, no text) stay for the accounting."
    )


def forgetme_done(facts: int, conversations: int, personas: int) -> str:
    return _(
        "🗑 Done: {facts} facts, {conversations} conversations and {personas} personas erased."
    ).format(facts=facts, conversations=conversations, personas=personas)


def forgetme_kept() -> str:
    return _("Nothing was erased.")


def model_remembered(fact: str) -> str:
    return _("🧠 Remembered: {fact}").format(fact=fact)


def incognito_mark() -> str:
    return _("🕶 Incognito: forgotten when this conversation ends.")


def incognito_started() -> str:
    return _(
        "🕶 Incognito conversation. Nothing of it is kept once it ends (with /new or by "
        "opening another conversation); your memory is not used and nothing is added to "
        "it. Usage (tokens and cost, no text) is still recorded."
    )


def undone() -> str:
    return _("🧠 Forgotten again.")
