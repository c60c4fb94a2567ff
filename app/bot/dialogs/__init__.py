"""aiogram-dialog menus: /model, /chats and /persona (everyone allowed in), /stats and
/access (admins only).

``create_dialogs_router()`` builds a fresh router with the command handlers and the three
dialogs; the factory includes it before the chat router and calls ``setup_menus(dp)``
(aiogram-dialog's ``setup_dialogs`` that leaves texts ending in invisible characters alone).
``register_dialog_error_handlers(dp)`` turns expired menu buttons into a fresh menu."""

from __future__ import annotations

from aiogram import Router

from app.bot.dialogs.access import create_access_router
from app.bot.dialogs.chats.dialog import create_chats_router
from app.bot.dialogs.errors import register_dialog_error_handlers
from app.bot.dialogs.memory.dialog import create_memory_dialog_router
from app.bot.dialogs.model.dialog import ModelPick, create_model_router
from app.bot.dialogs.persona.dialog import create_persona_router
from app.bot.dialogs.setup import setup_menus
from app.bot.dialogs.states import AccessSG, ChatsSG, ModelSG, PersonaSG, StatsSG
from app.bot.dialogs.stats.dialog import create_stats_router
from app.bot.dialogs.tasks.dialog import create_tasks_router
from app.bot.dialogs.tools.dialog import create_tools_router


def create_dialogs_router() -> Router:
    router = Router(name="dialogs")
    router.include_routers(
        create_model_router(),
        create_stats_router(),
        create_access_router(),
        create_chats_router(),
        create_persona_router(),
    )
    router.include_router(create_tools_router())
    router.include_router(create_memory_dialog_router())
    router.include_router(create_tasks_router())
    return router


__all__ = [
    "AccessSG",
    "ChatsSG",
    "ModelPick",
    "ModelSG",
    "PersonaSG",
    "StatsSG",
    "create_dialogs_router",
    "register_dialog_error_handlers",
    "setup_menus",
]
