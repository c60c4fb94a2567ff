"""MediaService: voice, documents, pictures and spoken replies for the bot, on llmdoor's
media calls. Plain inputs and outcomes, no Telegram: the media router downloads files,
asks here, and turns the outcomes into messages.

Which features exist is decided here once for /help and for the handlers alike: a feature
needs its model's key (or a gateway that serves it: with discovery on, the model must be
in the gateway's discovered list, as for chat models), and for friends a model with a
price, so budgets can count it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from app.services.media.limits import MediaLimits
from app.storage import Storage
from llmdoor import (
    Caller,
    CallKind,
    DocumentText,
    GeneratedImage,
    LLMProvider,
    MediaKind,
    Role,
    SpeechAudio,
    Transcript,
    UnknownModel,
    cut_to_tokens,
    ensure_loaded,
    gateway_catalog,
    is_available,
    is_media_priced,
    known_gateway,
    resolve_media_model,
)


class Feature(StrEnum):
    """A media feature of the bot, named as the kind of call it makes."""

    TRANSCRIPTION = CallKind.TRANSCRIPTION.value
    SPEECH = CallKind.SPEECH.value
    IMAGE = CallKind.IMAGE.value


# The kind of call whose models each feature's setting names.
_KIND: Mapping[Feature, MediaKind] = {
    Feature.TRANSCRIPTION: CallKind.TRANSCRIPTION,
    Feature.SPEECH: CallKind.SPEECH,
    Feature.IMAGE: CallKind.IMAGE,
}


# The setting that names each feature's model.
SETTINGS: Mapping[Feature, str] = {
    Feature.TRANSCRIPTION: "LLM_TRANSCRIBE_MODEL",
    Feature.SPEECH: "LLM_SPEECH_MODEL",
    Feature.IMAGE: "LLM_IMAGE_MODEL",
}


class FeatureOff(StrEnum):
    UNKNOWN_MODEL = "unknown_model"  # the setting names no model of the feature's kind
    NO_KEY = "no_key"  # no key (or local address) for the model's provider
    NOT_SERVED = "not_served"  # the discovered gateway does not serve the model
    UNPRICED = "unpriced"  # friends only: litellm knows no price, budgets could not count it


@dataclass(frozen=True)
class FeatureReport:
    feature: Feature
    setting: str  # the environment variable naming its model
    model_id: str | None
    off_for_admins: FeatureOff | None
    off_for_friends: FeatureOff | None
    suggestions: tuple[str, ...] = ()  # shortcuts close to an unknown name


class AudioRefusal(StrEnum):
    TOO_LONG = "too_long"
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class DocumentPrompt:
    text: str  # what the model gets (and the conversation keeps): document + question
    cut: bool  # the document was cut to fit the model's context
    summary: bool  # no question came with it: the model is asked for a summary


class MediaService:
    def __init__(
        self,
        storage: Storage,
        llm: LLMProvider,
        limits: MediaLimits,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._storage = storage
        self._llm = llm
        self.limits = limits
        self._env = env  # None: the process environment, read at each call
        # Fitting a document to the context tokenizes up to LLM_DOCUMENT_MAX_CHARS: not on
        # the event loop, and not in the default executor the model calls use.
        self._text_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="media-text")

    # ---- which features exist ---------------------------------------------------------

    def model_of(self, feature: Feature) -> str | None:
        """The litellm id the feature uses, None when its setting names no known model."""
        return self._resolve(feature)[0]

    def _resolve(self, feature: Feature) -> tuple[str | None, tuple[str, ...]]:
        media = self._llm.media
        name = {
            Feature.TRANSCRIPTION: media.transcribe_model,
            Feature.SPEECH: media.speech_model,
            Feature.IMAGE: media.image_model,
        }[feature]
        try:
            return resolve_media_model(_KIND[feature], name, self._llm.settings)[0], ()
        except UnknownModel as exc:
            return None, tuple(exc.suggestions)

    def why_off(self, feature: Feature, role: Role) -> FeatureOff | None:
        """Why ``role`` cannot use the feature, None when it can. Needs litellm's model map:
        call ``llmdoor.ensure_loaded()`` first."""
        model_id = self.model_of(feature)
        if model_id is None:
            return FeatureOff.UNKNOWN_MODEL
        if not self._reachable(model_id):
            return FeatureOff.NOT_SERVED if self._llm.settings.api_base else FeatureOff.NO_KEY
        if role is not Role.ADMIN and not is_media_priced(model_id):
            return FeatureOff.UNPRICED
        return None

    def available(self, feature: Feature, role: Role) -> bool:
        """Needs litellm's model map: call ``llmdoor.ensure_loaded()`` first."""
        return self.why_off(feature, role) is None

    async def report(self) -> list[FeatureReport]:
        """Each feature's model and why it is off, for admins and for friends: what the
        start-up log says, so a misspelled model setting is not silent."""
        await ensure_loaded()
        await self.refresh()
        reports = []
        for feature in Feature:
            model_id, suggestions = self._resolve(feature)
            reports.append(
                FeatureReport(
                    feature=feature,
                    setting=SETTINGS[feature],
                    model_id=model_id,
                    off_for_admins=self.why_off(feature, Role.ADMIN),
                    off_for_friends=self.why_off(feature, Role.FRIEND),
                    suggestions=suggestions,
                )
            )
        return reports

    def _reachable(self, model_id: str) -> bool:
        settings = self._llm.settings
        if settings.api_base:
            # A gateway reaches what it serves; until a discovery succeeds (or with
            # discovery off) there is no list to check against.
            served = known_gateway(settings)
            return served is None or served.serves(model_id)
        return is_available(model_id, os.environ if self._env is None else self._env)

    async def refresh(self) -> None:
        """Rediscover the gateway's models when the short cache is stale (as ModelService
        does for chat models); a no-op without a gateway."""
        found = gateway_catalog(self._llm.settings)
        if found is not None:
            await found.ensure_fresh(self._llm.settings.gateway_cache_seconds)

    async def features(self, role: Role) -> frozenset[Feature]:
        await ensure_loaded()
        await self.refresh()
        return frozenset(f for f in Feature if self.available(f, role))

    # ---- voice -----------------------------------------------------------------------

    def check_audio(self, duration: int | None, size: int | None) -> AudioRefusal | None:
        """Refused before any download or vendor call when Telegram's figures are over."""
        if duration is not None and duration > self.limits.max_audio_seconds:
            return AudioRefusal.TOO_LONG
        if size is not None and size > self.limits.max_audio_bytes:
            return AudioRefusal.TOO_LARGE
        return None

    async def transcribe(
        self, caller: Caller, data: bytes, filename: str, duration: float | None
    ) -> Transcript:
        """The recording's length is measured first (AudioUnreadable: not audio); the larger
        of it and the declared ``duration`` is held to the cap (AudioTooLong) and reserved."""
        return await self._llm.atranscribe(
            data,
            filename=filename,
            duration_seconds=duration,
            max_seconds=self.limits.max_audio_seconds,
            caller=caller,
        )

    async def speak(self, caller: Caller, text: str) -> SpeechAudio:
        return await self._llm.aspeak(text, caller=caller)

    async def voice_replies(self, user_id: int) -> bool:
        record = await self._storage.users.get(user_id)
        return bool(record and record.prefs.voice_replies)

    async def set_voice_replies(self, user_id: int, on: bool) -> None:
        await self._storage.users.set_prefs(user_id, voice_replies=on)

    # ---- pictures --------------------------------------------------------------------

    async def image(self, caller: Caller, prompt: str) -> GeneratedImage:
        return await self._llm.agenerate_image(prompt, caller=caller)

    # ---- documents -------------------------------------------------------------------

    def document_too_large(self, size: int | None) -> bool:
        return size is not None and size > self.limits.max_document_bytes

    async def read(
        self, caller: Caller, data: bytes, mime_type: str | None, filename: str | None
    ) -> DocumentText:
        return await self._llm.aread_document(data, mime_type, filename, caller=caller)

    async def adocument_prompt(
        self, document: DocumentText, question: str, model: str, *, summarize: str
    ) -> DocumentPrompt:
        """``document_prompt`` in this service's own thread."""
        return await self.adocuments_prompt([document], question, model, summarize=summarize)

    async def adocuments_prompt(
        self, documents: Sequence[DocumentText], question: str, model: str, *, summarize: str
    ) -> DocumentPrompt:
        """``documents_prompt`` in this service's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._text_pool,
            lambda: self.documents_prompt(documents, question, model, summarize=summarize),
        )

    def document_prompt(
        self, document: DocumentText, question: str, model: str, *, summarize: str
    ) -> DocumentPrompt:
        """The document, cut to its share of the model's context, with the question (or,
        without one, ``summarize``: the request for a summary in the user's language)."""
        return self.documents_prompt([document], question, model, summarize=summarize)

    def documents_prompt(
        self, documents: Sequence[DocumentText], question: str, model: str, *, summarize: str
    ) -> DocumentPrompt:
        """Several documents sent as one question (an album of files): each gets an equal
        part of the documents' share of the context."""
        model_id = self._llm.resolve_model(model)
        window = self._llm.model_context_window(model) or self._llm.settings.default_context_window
        budget = int(window * self.limits.document_context_share) // max(1, len(documents))
        blocks = []
        any_cut = False
        for document in documents:
            body, cut = cut_to_tokens(document.markdown, model_id, budget)
            name = document.filename or "document"
            notes = []
            read, pages = document.pages_read, document.pages
            if read is not None and pages is not None and read < pages:
                notes.append(f"only the first {read} of {pages} pages")
            if document.cut:
                notes.append("only its beginning: the file is longer than the reading limits")
            if cut:
                notes.append("cut to fit the context; the rest of the document is missing")
            note = f' note="{"; ".join(notes)}"' if notes else ""
            blocks.append(
                f'<document name="{name}" format="{document.format}"{note}>\n{body}\n</document>'
            )
            any_cut = any_cut or cut or document.truncated
        asked = question.strip()
        text = "\n\n".join(blocks) + f"\n\n{asked or summarize}"
        return DocumentPrompt(text=text, cut=any_cut, summary=not asked)
