"""The conversation services without Telegram: ownership by key, reply continuation,
persona rules, titles and the export's parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.services.chat.context import MAX_QUOTE_CHARS, with_reply
from app.services.chat.job import ReplyContext
from app.services.chat.titles import clean_title, fallback_title
from app.services.conversations.export import ExportService
from app.services.conversations.personas import (
    BUILTINS,
    MAX_PROMPT_CHARS,
    PersonaProblem,
    PersonaService,
)
from app.services.conversations.service import ConversationKey, ConversationService
from app.storage import Conversation, Storage, Turn, open_memory_storage


@pytest.fixture
async def storage() -> Storage:
    st = open_memory_storage()
    yield st  # type: ignore[misc]
    await st.close()


def service(storage: Storage, **kwargs: int) -> ConversationService:
    return ConversationService(storage, PersonaService(storage), **kwargs)


async def test_operations_reach_only_the_callers_key(storage: Storage) -> None:
    convs = service(storage)
    alice, bob = ConversationKey(1, 1), ConversationKey(2, 2)
    mine = await convs.active(alice, None)
    assert await convs.owned(bob, mine.id) is None
    assert await convs.open(bob, mine.id) is None
    assert not await convs.rename(bob, mine.id, "stolen")
    assert not await convs.delete(bob, mine.id)
    topic = ConversationKey(1, 1, 5)  # the same user in another topic is another key
    assert await convs.owned(topic, mine.id) is None
    assert await convs.owned(alice, "not-an-id") is None
    assert await storage.conversations.get(mine.id) is not None


async def test_new_conversation_takes_the_group_default_persona(storage: Storage) -> None:
    personas = PersonaService(storage)
    convs = ConversationService(storage, personas)
    await personas.set_chat_default(-10, "b:editor")
    in_group = await convs.start_new(ConversationKey(1, -10), "gpt-x")
    assert (in_group.conversation.persona, in_group.conversation.model) == ("b:editor", "gpt-x")
    private = await convs.start_new(ConversationKey(1, 1), None)
    assert private.conversation.persona is None


async def test_continue_from_forks_or_reopens(storage: Storage) -> None:
    convs = service(storage)
    key = ConversationKey(3, 3)
    first = await convs.active(key, None)
    await storage.conversations.append(
        first.id,
        [
            Turn(role="user", content="q1", message_ids=[1]),
            Turn(role="assistant", content="a1", message_ids=[2]),
            Turn(role="user", content="q2", message_ids=[3]),
            Turn(role="assistant", content="a2", message_ids=[4]),
        ],
    )
    same = await convs.continue_from(key, 2)
    assert same is not None and same.current  # the active one: nothing changes
    await convs.start_new(key, None)
    assert await convs.continue_from(key, 3) is None  # a user message, not an answer
    assert await convs.continue_from(ConversationKey(4, 3), 2) is None  # someone else
    fork = await convs.continue_from(key, 2)
    assert fork is not None and fork.forked
    assert [t.content for t in fork.conversation.turns] == ["q1", "a1"]
    assert all(not t.message_ids for t in fork.conversation.turns)
    reopened = await convs.continue_from(key, 4)
    assert reopened is not None and not reopened.forked and reopened.conversation.id == first.id
    assert (await storage.conversations.active(3, 3)).id == first.id


async def said(storage: Storage, conv: Conversation, text: str = "hi") -> None:
    await storage.conversations.append(
        conv.id, [Turn(role="user", content=text), Turn(role="assistant", content="ok")]
    )


async def test_per_user_cap_on_new(storage: Storage) -> None:
    convs = service(storage, max_per_user=2)
    key = ConversationKey(5, 5)
    await said(storage, await convs.active(key, None))
    second = await convs.start_new(key, None)
    assert second.archived == [] and not second.reused
    await said(storage, second.conversation)
    third = await convs.start_new(key, None)
    assert len(third.archived) == 1
    assert await convs.count_archived(key) == 1


async def test_per_user_cap_when_a_conversation_is_made_without_new(storage: Storage) -> None:
    """A first message in another chat (or topic) creates the conversation: the cap holds."""
    convs = service(storage, max_per_user=2)
    private = ConversationKey(5, 5)
    oldest = await convs.active(private, None)
    await said(storage, oldest)
    await said(storage, (await convs.start_new(private, None)).conversation)
    group = await convs.active(ConversationKey(5, -50), None)  # a first message there
    archived = await storage.conversations.list_page(5, 5, archived=True)
    assert [c.id for c in archived] == [oldest.id]
    await said(storage, group)
    await convs.active(ConversationKey(5, -50), None)  # not new: nothing more to archive
    assert await convs.count_archived(private) == 1


async def test_new_on_an_empty_conversation_reuses_it(storage: Storage) -> None:
    personas = PersonaService(storage)
    convs = ConversationService(storage, personas, max_per_user=2, default_model="bot-m")
    key = ConversationKey(6, -60)
    real = await convs.active(key, None)
    await said(storage, real)
    empty = await convs.start_new(key, "m1")
    assert not empty.reused
    await storage.conversations.set_persona(empty.conversation.id, "b:coder")
    await personas.set_chat_default(-60, "b:editor")
    for _ in range(3):
        again = await convs.start_new(key, "m2")
        assert again.reused and again.conversation.id == empty.conversation.id
        assert again.archived == []
    got = await storage.conversations.get(empty.conversation.id)
    # set up as a new one would be: today's default model and the chat's default persona
    assert got is not None and (got.model, got.persona) == ("m2", "b:editor")
    assert await storage.conversations.count(6, -60) == 2
    assert await storage.conversations.count(6, -60, archived=True) == 0


async def test_a_new_conversation_stores_the_resolved_model(storage: Storage) -> None:
    """No model picked: the bot's default is stored, so a later default moves nothing."""
    convs = ConversationService(storage, PersonaService(storage), default_model="bot-m")
    first = await convs.active(ConversationKey(7, 7), None)
    assert first.model == "bot-m"
    await said(storage, first)
    assert (await convs.start_new(ConversationKey(7, 7), "mine")).conversation.model == "mine"


async def test_persona_rules(storage: Storage) -> None:
    personas = PersonaService(storage, max_per_user=1)
    assert {b.key for b in BUILTINS} >= {"assistant", "translator", "coder", "concise", "editor"}
    assert await personas.create(1, " ", "x") is PersonaProblem.EMPTY_NAME
    assert await personas.create(1, "n" * 41, "x") is PersonaProblem.NAME_TOO_LONG
    assert await personas.create(1, "ok", "") is PersonaProblem.EMPTY_PROMPT
    too_long = "p" * (MAX_PROMPT_CHARS + 1)
    assert await personas.create(1, "ok", too_long) is PersonaProblem.PROMPT_TOO_LONG
    mine = await personas.create(1, "Pirate", "Arr.")
    assert not isinstance(mine, PersonaProblem)
    assert await personas.create(1, "Second", "x") is PersonaProblem.TOO_MANY
    assert await personas.may_use(1, mine.ref)
    assert not await personas.may_use(2, mine.ref)  # a forged ref to another user's persona
    assert not await personas.may_use(1, "b:no-such")
    assert await personas.update(2, mine.ref, name="x") is PersonaProblem.NOT_FOUND
    assert (await personas.resolve(mine.ref)).prompt == "Arr."
    assert await personas.delete(1, mine.ref)
    assert (await personas.resolve(mine.ref)).ref == "b:assistant"  # deleted: the assistant
    assert (await personas.resolve(None)).ref == "b:assistant"
    # Built-in texts go through the injected translation.
    loud = PersonaService(storage, translate=str.upper)
    assert loud.builtin("coder").name == "CODER"


def test_titles() -> None:
    assert fallback_title("short one") == "short one"
    long = "Please help me plan the release of our new product for the next quarter"
    cut = fallback_title(long)
    assert cut.endswith("…") and len(cut) <= 49 and long.startswith(cut[:-1])
    assert fallback_title("first line\nsecond") == "first line"
    assert clean_title('"Release planning."') == "Release planning"
    assert clean_title("Title: Garden tips") == "Garden tips"
    assert clean_title("  ") is None
    assert len(clean_title("x" * 300) or "") == 64


def test_reply_context_is_quoted_with_its_author() -> None:
    assert with_reply("hi", None) == "hi"
    text = with_reply("is it?", ReplyContext("line one\nline two", author="Alice"))
    assert text == "[Replying to a message from Alice:]\n> line one\n> line two\n\nis it?"
    bot = with_reply("more", ReplyContext("an answer", from_bot=True))
    assert bot.startswith("[Replying to your earlier answer:]")
    fwd = with_reply("ok", ReplyContext("news", author="Al", forwarded_from="Bob"))
    assert "(forwarded from Bob)" in fwd
    huge = with_reply("q", ReplyContext("x" * (MAX_QUOTE_CHARS * 2)))
    assert len(huge) < MAX_QUOTE_CHARS + 100


def _conv(turns: list[Turn]) -> Conversation:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    return Conversation(id="0" * 24, user_id=1, chat_id=1, turns=turns, created_at=when)


def test_export_one_part_each() -> None:
    conv = _conv([Turn(role="user", content="hi"), Turn(role="assistant", content="yo", model="m")])
    files = ExportService().export(conv, "Assistant", "Greeting chat")
    assert [f.filename for f in files] == [
        "greeting-chat-20261101.md",
        "greeting-chat-20261101.json",
    ]
    data = json.loads(files[1].data)
    assert data["parts"] == 1 and data["persona"] == "Assistant"
    assert [t["role"] for t in data["turns"]] == ["user", "assistant"]


@pytest.mark.parametrize("part_bytes", [2_000, 5_000])
def test_export_splits_below_the_limit_and_loses_nothing(part_bytes: int) -> None:
    # Multi-byte text and one turn larger than a part.
    texts = ["Привет мир " * 80, "ok", "日本語のテキスト" * 300, "end"]
    conv = _conv(
        [Turn(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(texts)]
    )
    files = ExportService(part_bytes=part_bytes).export(conv, "P", "Тест")
    assert all(len(f.data) <= part_bytes for f in files)
    md = [f for f in files if f.filename.endswith(".md")]
    js = [f for f in files if f.filename.endswith(".json")]
    assert len(md) > 1 and len(js) > 1
    parts = [json.loads(f.data) for f in js]
    assert "".join(t["content"] for p in parts for t in p["turns"]) == "".join(texts)
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    markdown = "".join(f.data.decode() for f in md)
    assert markdown.count("# Тест") == len(md)


CODE = (
    "def f(x):\n    return \"a\\tb\" + '\\\\' + x  # «комментарий» 日本 🚀\n"
    + "".join(chr(c) for c in range(32))
    + '{"json": "in \\"code\\""}\r\n'
)


@pytest.mark.parametrize("part_bytes", [2_000, 3_000])
def test_export_json_parts_fit_by_their_encoded_size(part_bytes: int) -> None:
    """Escapes expand code-heavy text (a control character takes six bytes): every JSON part
    is still within the limit, and joined the parts give back every character."""
    texts = [CODE * 40, "short", "\x00" * 1500, '"\\' * 900, CODE * 3]
    conv = _conv(
        [Turn(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(texts)]
    )
    files = ExportService(part_bytes=part_bytes).export(conv, "P", 'Код "quoted" \\ title')
    js = [f for f in files if f.filename.endswith(".json")]
    assert len(js) > 3
    assert max(len(f.data) for f in files) <= part_bytes
    parts = [json.loads(f.data) for f in js]
    assert "".join(t["content"] for p in parts for t in p["turns"]) == "".join(texts)
    assert all(p["parts"] == len(js) and "older_turns_trimmed" not in p for p in parts)
    markdown = "".join(f.data.decode() for f in files if f.filename.endswith(".md"))
    assert "not in this export" not in markdown


def test_export_says_when_older_turns_were_trimmed() -> None:
    turns = [Turn(role="user", content=f"m{i}") for i in range(4)]
    files = ExportService(max_turns=4).export(_conv(turns), "P", "T")
    assert "Only the newest 4 messages are kept" in files[0].data.decode()
    assert json.loads(files[1].data)["older_turns_trimmed"] is True
    files = ExportService(max_turns=5).export(_conv(turns), "P", "T")
    assert "newest" not in files[0].data.decode()


class _HangingLLM:
    """Stands in for LLMProvider: a title call that never returns."""

    def __init__(self) -> None:
        self.calls = 0

    async def aquery_llm(self, prompt: str, model: str | None = None, **options: object) -> str:
        import asyncio

        self.calls += 1
        await asyncio.Event().wait()
        return "never"


async def test_titles_in_flight_are_cancelled_at_shutdown(storage: Storage) -> None:
    from app.services.chat.titles import TitleService
    from llmdoor.access import Caller, Role

    llm = _HangingLLM()
    titles = TitleService(storage, llm, enabled=True)  # type: ignore[arg-type]
    conv = await storage.conversations.active(1, 1)
    caller = Caller(user_id=1, role=Role.FRIEND)
    await titles.after_first_exchange(conv.id, "plan my trip to Rome", "sure", "m", caller)
    got = await storage.conversations.get(conv.id)
    assert got is not None and got.title == "plan my trip to Rome"  # the fallback at once
    await titles.close(grace=0.05)
    assert llm.calls == 1 and not titles._tasks
    # a title the user set is never replaced by an automatic one
    assert await storage.conversations.rename(conv.id, "Mine")
    await titles.after_first_exchange(conv.id, "other", "x", "m", caller)
    assert llm.calls == 1
    got = await storage.conversations.get(conv.id)
    assert got is not None and got.title == "Mine"


async def test_search_pages_and_says_when_capped(storage: Storage) -> None:
    from app.services.conversations.service import PAGE_SIZE, SEARCH_LIMIT

    convs = service(storage)
    key = ConversationKey(9, 9)
    for i in range(SEARCH_LIMIT + 1):
        conv = (await convs.start_new(key, None)).conversation
        await said(storage, conv, f"orbit {i}")
    first = await convs.search_page(key, "orbit", 0)
    assert (first.total, first.more, first.pages) == (SEARCH_LIMIT, True, SEARCH_LIMIT // PAGE_SIZE)
    last = await convs.search_page(key, "orbit", 99)  # clamped to the last page
    assert last.page == first.pages - 1 and len(last.items) == PAGE_SIZE
    exact = await convs.search_page(key, "orbit 3", 0)
    assert (exact.total, exact.more, exact.pages) == (1, False, 1)


async def test_an_empty_conversation_made_without_a_model_takes_one(storage: Storage) -> None:
    """Made straight through the repository (an answer button), it gets its model before
    its first message rather than following whatever the default is later."""
    convs = ConversationService(storage, PersonaService(storage), default_model="bot-m")
    bare = await storage.conversations.active(8, 8)
    assert bare.model is None
    assert (await convs.active(ConversationKey(8, 8), "mine")).model == "mine"
    got = await storage.conversations.get(bare.id)
    assert got is not None and got.model == "mine"
