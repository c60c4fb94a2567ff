"""PersonaService: the built-in presets, users' own personas and chats' default persona.

A conversation keeps a persona *ref*: ``b:<key>`` for a built-in, ``u:<id>`` for a user's
own. Built-in texts are gettext msgids translated by the injected ``translate`` (the bot
passes aiogram's gettext, which follows the locale of the update being served), so the
system prompt a user gets is in their language. No Telegram here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from app.storage import Persona, Storage

Translate = Callable[[str], str]

MAX_NAME_CHARS = 40
MAX_PROMPT_CHARS = 2000
BUILTIN_PREFIX = "b:"
USER_PREFIX = "u:"


def __(msgid: str) -> str:
    """Marks a msgid for extraction; ``translate`` translates it when it is used."""
    return msgid


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str  # msgids
    description: str
    prompt: str


BUILTINS: tuple[Builtin, ...] = (
    Builtin(
        "assistant",
        __("Assistant"),
        __("A helpful assistant for any question"),
        __(
            "You are a helpful assistant chatting with the user in Telegram. Answer in the "
            "user's language. Use Markdown sparingly; Telegram shows bold, italic, code, links "
            "and lists."
        ),
    ),
    Builtin(
        "translator",
        __("Translator"),
        __("Translates each message you send"),
        __(
            "You are a professional translator. Translate every message the user sends: into "
            "English when it is in another language, otherwise into Russian, unless the user "
            "names the target language. Keep the meaning, tone and formatting. Reply with the "
            "translation only."
        ),
    ),
    Builtin(
        "coder",
        __("Coder"),
        __("Programming help with working code"),
        __(
            "You are an experienced software engineer. Give correct, idiomatic code with short "
            "explanations, in fenced code blocks that name the language. Point out bugs, edge "
            "cases and security issues."
        ),
    ),
    Builtin(
        "concise",
        __("Concise"),
        __("Short, direct answers"),
        __(
            "Answer as briefly as possible: one to three sentences or a short list. No "
            "preamble, no restating the question, no closing remarks. Answer in the user's "
            "language."
        ),
    ),
    Builtin(
        "editor",
        __("Editor"),
        __("Proofreads and improves your texts"),
        __(
            "You are a careful editor. Correct the grammar, spelling and punctuation of the "
            "user's text and make it clearer, keeping the author's voice and language. Return "
            "the edited text first, then a short list of the main changes."
        ),
    ),
)
DEFAULT_REF = BUILTIN_PREFIX + "assistant"
_BY_KEY = {b.key: b for b in BUILTINS}


@dataclass(frozen=True)
class ResolvedPersona:
    ref: str
    name: str
    description: str
    prompt: str
    builtin: bool


class PersonaProblem(StrEnum):
    EMPTY_NAME = "empty_name"
    NAME_TOO_LONG = "name_too_long"
    EMPTY_PROMPT = "empty_prompt"
    PROMPT_TOO_LONG = "prompt_too_long"
    TOO_MANY = "too_many"
    NOT_FOUND = "not_found"


def user_ref(persona_id: str) -> str:
    return USER_PREFIX + persona_id


class PersonaService:
    def __init__(
        self, storage: Storage, *, translate: Translate = _same, max_per_user: int = 20
    ) -> None:
        self._storage = storage
        self._t = translate
        self.max_per_user = max_per_user

    # ---------------------------------------------------------------- reading

    def builtin(self, key: str) -> ResolvedPersona:
        b = _BY_KEY.get(key, _BY_KEY["assistant"])
        return ResolvedPersona(
            BUILTIN_PREFIX + b.key, self._t(b.name), self._t(b.description), self._t(b.prompt), True
        )

    def builtins(self) -> list[ResolvedPersona]:
        return [self.builtin(b.key) for b in BUILTINS]

    @staticmethod
    def _own(persona: Persona) -> ResolvedPersona:
        return ResolvedPersona(user_ref(persona.id), persona.name, "", persona.prompt, False)

    async def resolve(self, ref: str | None) -> ResolvedPersona:
        """The persona behind a ref; the assistant when it is unset, unknown or deleted."""
        if ref and ref.startswith(USER_PREFIX):
            persona = await self._storage.personas.get(ref.removeprefix(USER_PREFIX))
            if persona is not None:
                return self._own(persona)
            return self.builtin("assistant")
        key = ref.removeprefix(BUILTIN_PREFIX) if ref else "assistant"
        return self.builtin(key)

    async def choices(self, user_id: int) -> list[ResolvedPersona]:
        """Built-ins first, then the user's own, oldest first."""
        own = await self._storage.personas.list_for(user_id)
        return [*self.builtins(), *(self._own(p) for p in own)]

    async def own(self, user_id: int) -> list[ResolvedPersona]:
        return [self._own(p) for p in await self._storage.personas.list_for(user_id)]

    async def may_use(self, user_id: int, ref: str) -> bool:
        """Built-ins and the user's own personas (a forged ref to another user's gets no)."""
        if ref.startswith(BUILTIN_PREFIX):
            return ref.removeprefix(BUILTIN_PREFIX) in _BY_KEY
        if ref.startswith(USER_PREFIX):
            persona = await self._storage.personas.get(ref.removeprefix(USER_PREFIX))
            return persona is not None and persona.owner_id == user_id
        return False

    # ---------------------------------------------------------------- own personas

    @staticmethod
    def check_name(name: str) -> PersonaProblem | None:
        name = name.strip()
        if not name:
            return PersonaProblem.EMPTY_NAME
        return PersonaProblem.NAME_TOO_LONG if len(name) > MAX_NAME_CHARS else None

    @staticmethod
    def check_prompt(prompt: str) -> PersonaProblem | None:
        prompt = prompt.strip()
        if not prompt:
            return PersonaProblem.EMPTY_PROMPT
        return PersonaProblem.PROMPT_TOO_LONG if len(prompt) > MAX_PROMPT_CHARS else None

    async def create(
        self, owner_id: int, name: str, prompt: str
    ) -> ResolvedPersona | PersonaProblem:
        problem = self.check_name(name) or self.check_prompt(prompt)
        if problem is not None:
            return problem
        if await self._storage.personas.count_for(owner_id) >= self.max_per_user:
            return PersonaProblem.TOO_MANY
        return self._own(
            await self._storage.personas.create(owner_id, name.strip(), prompt.strip())
        )

    async def update(
        self, owner_id: int, ref: str, *, name: str | None = None, prompt: str | None = None
    ) -> ResolvedPersona | PersonaProblem:
        problem = (self.check_name(name) if name is not None else None) or (
            self.check_prompt(prompt) if prompt is not None else None
        )
        if problem is not None:
            return problem
        if not ref.startswith(USER_PREFIX):
            return PersonaProblem.NOT_FOUND
        updated = await self._storage.personas.update(
            ref.removeprefix(USER_PREFIX),
            owner_id,
            name=name.strip() if name is not None else None,
            prompt=prompt.strip() if prompt is not None else None,
        )
        return self._own(updated) if updated else PersonaProblem.NOT_FOUND

    async def delete(self, owner_id: int, ref: str) -> bool:
        if not ref.startswith(USER_PREFIX):
            return False
        return await self._storage.personas.delete(ref.removeprefix(USER_PREFIX), owner_id)

    # ---------------------------------------------------------------- chat default

    async def chat_default(self, chat_id: int) -> str | None:
        return await self._storage.personas.chat_default(chat_id)

    async def set_chat_default(self, chat_id: int, ref: str | None) -> None:
        """Callers check that the user is an admin of the bot."""
        await self._storage.personas.set_chat_default(chat_id, ref)


__all__ = [
    "BUILTINS",
    "DEFAULT_REF",
    "MAX_NAME_CHARS",
    "MAX_PROMPT_CHARS",
    "PersonaProblem",
    "PersonaService",
    "ResolvedPersona",
    "user_ref",
]
