"""Text widgets shared by the dialogs.

``I18nFormat`` is the one way a dialog shows a translated string: the window declares the
msgid, and the widget translates it at render time in the locale of the user being served
(aiogram's i18n middleware sets it per update), then fills in the getter's data like
``Format``. Getters therefore return data, never translated labels (see ``example/i18n`` in
aiogram_dialog, which does the same with Fluent).

Mark msgids with ``__`` (aiogram's ``lazy_gettext``) so that extraction finds them::

    Cancel(I18nFormat(__("Close")), id="m_close")
    I18nFormat(__("Current model: {model}"))
"""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext
from aiogram_dialog.api.protocols import DialogManager
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.text import Text
from babel.support import LazyProxy


class I18nFormat(Text):
    """``Format`` over a msgid translated in the current locale."""

    def __init__(self, text: str | LazyProxy, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.text = text

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        # aiogram's lazy proxy is uncached: str() translates in the locale of this update.
        template = gettext(self.text) if isinstance(self.text, str) else str(self.text)
        return template.format_map(data)


__all__ = ["I18nFormat"]
