"""gettext i18n: catalogs in `locales/`, the user's stored choice first, then Telegram's
language, then the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware

# An installed wheel carries its catalogs as app/locales (hatch_build.py); a source tree
# and the Docker image have them next to app/.
_PACKAGED = Path(__file__).resolve().parents[1] / "locales"
LOCALES_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"


def create_i18n(default_locale: str = "en", path: Path = LOCALES_DIR) -> I18n:
    return I18n(path=path, default_locale=default_locale, domain=DOMAIN)


class UserLocaleMiddleware(SimpleI18nMiddleware):
    """Prefers the language the user picked with /language (kept on their user record)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        record = data.get("user_record")
        chosen = getattr(record, "language", None)
        if chosen and chosen in self.i18n.available_locales:
            return str(chosen)
        return await super().get_locale(event, data)
