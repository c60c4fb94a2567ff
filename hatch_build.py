"""Wheel build hook: the message catalogs go into the wheel compiled, as app/locales, so
an installed bot finds its translations without a source tree (app/bot/i18n.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class LocalesHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        out = Path(tempfile.mkdtemp(prefix="tg-llm-bot-locales-"))
        for po in sorted(Path(self.root, "locales").glob("*/LC_MESSAGES/*.po")):
            relative = po.relative_to(Path(self.root, "locales")).with_suffix(".mo")
            mo = out / relative
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)
            build_data["force_include"][str(mo)] = f"app/locales/{relative.as_posix()}"
