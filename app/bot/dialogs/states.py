"""Dialog state groups. Each dialog owns one group; the error handler maps widget-id
prefixes back to these groups to reopen a fresh menu after an expired button."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ModelSG(StatesGroup):
    providers = State()
    models = State()
    done = State()


class StatsSG(StatesGroup):
    main = State()
    users = State()
    user = State()
    models = State()
    tools = State()


class AccessSG(StatesGroup):
    main = State()
    pending = State()
    request = State()
    friends = State()
    friend = State()
    revoke = State()
    budgets = State()
    budget_input = State()


class ChatsSG(StatesGroup):
    list = State()
    search = State()
    conv = State()
    rename = State()
    delete = State()
    opened = State()


class PersonaSG(StatesGroup):
    main = State()
    new_name = State()
    new_prompt = State()
    own = State()
    item = State()
    edit_name = State()
    edit_prompt = State()
    delete = State()
    group = State()


class ToolsSG(StatesGroup):
    main = State()


class MemorySG(StatesGroup):
    main = State()
    forget_all = State()


class TasksSG(StatesGroup):
    list = State()
    task = State()
    delete = State()
