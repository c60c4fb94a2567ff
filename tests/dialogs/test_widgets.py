"""I18nFormat: the one translated text widget of the dialogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram_dialog import DialogManager
from magic_filter import F

from app.bot.dialogs.widgets import I18nFormat

LOCALES = Path(__file__).resolve().parents[2] / "locales"
NO_MANAGER = cast(DialogManager, None)  # only `when` conditions would use it


async def render(widget: I18nFormat, locale: str, data: dict[str, Any]) -> str:
    i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
    with i18n.context(), i18n.use_locale(locale):
        return await widget.render_text(data, NO_MANAGER)


async def test_translates_in_the_locale_of_each_render() -> None:
    widget = I18nFormat(__("Model set to {model}."))
    assert await render(widget, "en", {"model": "gpt-4o"}) == "Model set to gpt-4o."
    russian = await render(widget, "ru", {"model": "gpt-4o"})
    assert russian != "Model set to gpt-4o." and "gpt-4o" in russian
    assert await render(widget, "en", {"model": "o3"}) == "Model set to o3."  # not cached


async def test_plain_msgid_and_when_condition() -> None:
    assert await render(I18nFormat("Close"), "ru", {}) != "Close"
    hidden = I18nFormat(__("Close"), when=~F["shown"])
    assert await render(hidden, "en", {"shown": True}) == ""
    assert await render(hidden, "en", {"shown": False}) == "Close"
