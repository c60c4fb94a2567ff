"""Forum topics are separate conversations answered in their topic; replies bring the
replied-to message into the prompt (another member's, a forwarded text) or continue an
earlier conversation from a stored answer; personas: own ones from the dialog, localized
presets, the group default set by admins, and the persona prompt kept when history is
trimmed."""

from __future__ import annotations

from app.services.conversations.personas import PersonaService
from llmdoor import LLMSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, STRANGER_ID, Running, StartBot
from tests.e2e.test_conversations import button, contents, say, system_prompt


async def test_two_forum_topics_keep_separate_contexts(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    forum = tg.group(-1007, "Forum", forum=True)
    await friend.send_in(forum, "apples are my topic", mention_bot=True, thread_id=11)
    one = await tg.wait_for_message(forum.id, lambda m: "echo:" in m.text and "apples" in m.text)
    assert one.extra.get("message_thread_id") == 11  # answered in its topic
    await friend.send_in(forum, "bananas are my topic", mention_bot=True, thread_id=22)
    two = await tg.wait_for_message(forum.id, lambda m: "echo:" in m.text and "bananas" in m.text)
    assert two.extra.get("message_thread_id") == 22

    await friend.send_in(forum, "which fruit?", mention_bot=True, thread_id=11)
    three = await tg.wait_for_message(forum.id, lambda m: "which fruit" in m.text and m.from_bot)
    assert three.extra.get("message_thread_id") == 11
    sent = " ".join(contents(running))
    assert "apples" in sent and "bananas" not in sent

    # /new in one topic leaves the other topic's conversation alone.
    await friend.send_in(forum, "/new", thread_id=22)
    note = await tg.wait_for_message(forum.id, lambda m: "kept in /chats" in m.text)
    assert note.extra.get("message_thread_id") == 22
    await friend.send_in(forum, "and now?", mention_bot=True, thread_id=11)
    await tg.wait_for_message(forum.id, lambda m: "and now" in m.text and m.from_bot)
    assert "apples" in " ".join(contents(running))
    convs = running.storage.conversations
    assert await convs.count(FRIEND_ID, forum.id, 11) == 1
    assert await convs.count(FRIEND_ID, forum.id, 22) == 2

    # /chats in a topic lists that topic's conversations, in the topic.
    await friend.send_in(forum, "/chats", thread_id=22)
    menu = await tg.wait_for_message(forum.id, lambda m: "Your conversations here: 2" in m.text)
    assert menu.extra.get("message_thread_id") == 22


async def test_reply_to_another_members_message_reaches_the_model(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice", last_name="Smith")
    group = tg.group(-2001, "Team")
    note = await alice.send_in(group, "The meeting moved to Thursday at 15:00")
    await friend.send_in(group, "when is the meeting?", reply_to=note, mention_bot=True)
    await tg.wait_for_message(group.id, lambda m: m.from_bot and "when is the meeting" in m.text)
    prompt = contents(running)[-1]
    assert "The meeting moved to Thursday at 15:00" in prompt
    assert "Alice Smith" in prompt and prompt.endswith("when is the meeting?")

    forwarded = await alice.send_in(group, "Server password rotates monthly", forwarded_from="Bob")
    await friend.send_in(group, "is that right?", reply_to=forwarded, mention_bot=True)
    await tg.wait_for_message(group.id, lambda m: m.from_bot and "is that right" in m.text)
    prompt = contents(running)[-1]
    assert "Server password rotates monthly" in prompt and "forwarded from Bob" in prompt

    # A reply to the bot's answer of the current conversation: already in the history,
    # so not quoted again.
    answer = await tg.wait_for_message(group.id, lambda m: m.from_bot and "is that right" in m.text)
    await friend.send_in(group, "thanks", reply_to=answer)
    await tg.wait_for_message(group.id, lambda m: m.text == "echo: thanks")
    sent = contents(running)
    assert sent[-1] == "thanks"
    assert sent[-2].startswith("echo: [Replying") and sent[-2].endswith("is that right?")

    # A partial quote of that answer says which part is meant: it is quoted.
    await friend.send_in(group, "why monthly?", reply_to=answer, quote="rotates monthly")
    await tg.wait_for_message(group.id, lambda m: m.from_bot and "why monthly" in m.text)
    prompt = contents(running)[-1]
    assert prompt == "[Replying to your earlier answer:]\n> rotates monthly\n\nwhy monthly?"


async def test_reply_to_an_answer_trimmed_from_the_context_quotes_it(
    start_bot: StartBot,
) -> None:
    async with start_bot() as probe:
        llm = probe.app.settings.llm
    llm = LLMSettings(**(llm.model_dump() | {"default_context_window": 1400}))
    async with start_bot(llm=llm) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        first = await say(tg, friend, "the code is RED " + " ".join(["word"] * 120))
        for i in range(5):
            await say(tg, friend, f"message {i} " + " ".join(["word"] * 120))
        assert not any("the code is RED" in c for c in contents(running))  # trimmed
        await friend.send("what was the code?", reply_to=first)
        await tg.wait_for_message(friend.id, lambda m: m.from_bot and "what was" in m.text)
        prompt = contents(running)[-1]
        assert prompt.startswith("[Replying to your earlier answer:]\n> echo: the code is RED")
        assert prompt.endswith("what was the code?")
        # The newest answer is in the history: a reply to it quotes nothing.
        last = friend.chat.messages[-1]
        await friend.send("and that one?", reply_to=last)
        await tg.wait_for_message(friend.id, lambda m: m.from_bot and "and that one" in m.text)
        assert contents(running)[-1] == "and that one?"


async def test_reply_to_an_old_answer_continues_from_there(running: Running) -> None:
    tg, storage = running.tg, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    old_answer = await say(tg, friend, "remember the code RED")
    await say(tg, friend, "and later something else")
    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "kept in /chats" in m.text)
    await say(tg, friend, "unrelated topic")

    await friend.send("what was the code?", reply_to=old_answer)
    await tg.wait_for_message(friend.id, lambda m: "Continuing the conversation" in m.text)
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: what was the code?")
    sent = contents(running)
    assert sent[-3:] == [
        "remember the code RED",
        "echo: remember the code RED",
        "what was the code?",
    ]
    assert "and later something else" not in sent and "unrelated topic" not in sent
    # The original conversation is kept as it was; the continuation is a new one.
    assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == 3

    # A reply to the last answer of an earlier conversation reopens it as it is.
    last = await tg.wait_for_message(
        friend.id, lambda m: m.text == "echo: unrelated topic", after=0
    )
    await friend.send("more on that", reply_to=last)
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: more on that")
    assert contents(running)[-3:] == ["unrelated topic", "echo: unrelated topic", "more on that"]
    assert await storage.conversations.count(FRIEND_ID, FRIEND_ID) == 3


async def test_own_persona_from_the_dialog(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/persona")
    menu = await tg.wait_for_message(friend.id, lambda m: "Persona of this conversation" in m.text)
    for preset in ("Assistant", "Translator", "Coder", "Concise", "Editor"):
        assert any(preset in t for t in menu.button_texts)
    await friend.press(menu, "➕ New persona")
    await tg.wait_until(lambda: "name for the new persona" in menu.text)
    await friend.send("x" * 41)
    await tg.wait_for_message(friend.id, lambda m: "at most 40 characters" in m.text)
    await friend.send("Pirate")
    await tg.wait_for_message(friend.id, lambda m: "system prompt" in m.text)
    await friend.send("Talk like a pirate.")
    done = await tg.wait_for_message(friend.id, lambda m: "«Pirate» created" in m.text)
    assert "✅ Pirate" in done.button_texts
    await say(tg, friend, "hello")
    assert system_prompt(running) == "Talk like a pirate."

    # Edit its prompt, then delete it: the conversation goes on as the assistant.
    await friend.press(done, "✏️ My personas")
    await tg.wait_until(lambda: "Your personas" in done.text)
    await friend.press(done, "Pirate")
    await tg.wait_until(lambda: "Talk like a pirate." in done.text)
    await friend.press(done, "📝 Edit prompt")
    await friend.send("Talk like a parrot.")
    item = await tg.wait_for_message(friend.id, lambda m: "Saved." in m.text)
    await say(tg, friend, "hello again")
    assert system_prompt(running) == "Talk like a parrot."
    await friend.press(item, "🗑 Delete")
    await tg.wait_until(lambda: "Delete the persona «Pirate»" in item.text)
    await friend.press(item, "🗑 Yes, delete")
    await tg.wait_until(lambda: "Persona deleted" in item.text)
    await say(tg, friend, "and now")
    assert system_prompt(running) == PersonaService(running.storage).builtin("assistant").prompt


async def test_presets_are_localized(running: Running) -> None:
    tg = running.tg
    ivan = tg.user(FRIEND_ID, "Иван", language_code="ru")
    await ivan.send("/persona")
    menu = await tg.wait_for_message(ivan.id, lambda m: "Персона" in m.text)
    await ivan.press(menu, button(menu, "Программист"))
    await tg.wait_until(lambda: "Персона выбрана" in menu.text)
    await say(tg, ivan, "привет")
    prompt = system_prompt(running)
    assert prompt != PersonaService(running.storage).builtin("coder").prompt
    assert "программист" in prompt.lower() or "инженер" in prompt.lower()


async def test_group_default_persona_by_admins_only(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ada")
    friend = tg.user(FRIEND_ID, "Fred")
    group = tg.group(-3001, "Team")
    await friend.send_in(group, "/persona")
    menu = await tg.wait_for_message(group.id, lambda m: "Persona of this conversation" in m.text)
    assert not any("Group default" in t for t in menu.button_texts)  # not an admin

    await admin.send_in(group, "/persona")
    menu = await tg.wait_for_message(
        group.id,
        lambda m: (
            "Persona of this conversation" in m.text and "Group default" in str(m.button_texts)
        ),
    )
    await admin.press(menu, button(menu, "Group default"))
    await tg.wait_until(lambda: "Default persona for new conversations" in menu.text)
    await admin.press(menu, button(menu, "Concise"))
    await tg.wait_until(lambda: "now start with the persona Concise" in menu.text)

    await friend.send_in(group, "/new")  # its conversation is still empty: set up afresh
    await tg.wait_for_message(group.id, lambda m: "New conversation started" in m.text)
    await friend.send_in(group, "explain tides", mention_bot=True)
    await tg.wait_for_message(group.id, lambda m: m.from_bot and "explain tides" in m.text)
    assert system_prompt(running) == PersonaService(running.storage).builtin("concise").prompt


async def test_persona_prompt_is_kept_when_history_is_trimmed(start_bot: StartBot) -> None:
    async with start_bot() as probe:
        llm = probe.app.settings.llm
    llm = LLMSettings(**(llm.model_dump() | {"default_context_window": 1400}))
    async with start_bot(llm=llm) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/persona")
        menu = await tg.wait_for_message(
            friend.id, lambda m: "Persona of this conversation" in m.text
        )
        await friend.press(menu, button(menu, "Editor"))
        await tg.wait_until(lambda: "Persona set: Editor" in menu.text)
        for i in range(6):
            await say(tg, friend, f"message {i} " + " ".join(["word"] * 120))
        sent = contents(running)
        assert system_prompt(running) == PersonaService(running.storage).builtin("editor").prompt
        assert not any(c.startswith("message 0 ") for c in sent)  # the oldest were trimmed
        assert sent[-1].startswith("message 5 ")


async def test_rename_in_a_group_by_replying_to_the_menu(running: Running) -> None:
    tg, storage = running.tg, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    group = tg.group(-4001, "Team")
    await friend.send_in(group, "plan the offsite", mention_bot=True)
    await tg.wait_for_message(group.id, lambda m: m.from_bot and "offsite" in m.text)
    await friend.send_in(group, "/chats")
    menu = await tg.wait_for_message(group.id, lambda m: "Your conversations here: 1" in m.text)
    await friend.press(menu, button(menu, "plan the offsite"))
    await tg.wait_until(lambda: "Started" in menu.text)
    await friend.press(menu, "✏️ Rename")
    await tg.wait_until(lambda: "send it as a reply to this message" in menu.text)
    # privacy mode: a plain message never reaches the bot; a reply to the menu does
    await friend.send_in(group, "Offsite 2027", reply_to=menu)
    await tg.wait_until(
        lambda: any("Renamed to «Offsite 2027»" in m.text for m in group.chat.bot_messages)
    )
    conv = await storage.conversations.active(FRIEND_ID, group.id)
    assert conv.title == "Offsite 2027"


async def test_forged_persona_button_cannot_use_someone_elses_persona(running: Running) -> None:
    tg = running.tg
    secret = await PersonaService(running.storage).create(ADMIN_ID, "Secret", "Admin's own prompt")
    assert not isinstance(secret, str)
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/persona")
    menu = await tg.wait_for_message(friend.id, lambda m: "Persona of this conversation" in m.text)
    genuine = next(b["callback_data"] for b in menu.buttons if "Coder" in b["text"])
    forged = genuine.replace("b:coder", secret.ref)
    answer = await friend.send_callback(forged, menu)
    assert answer is not None and answer.text == "This persona no longer exists."
    await say(tg, friend, "hi")
    assert system_prompt(running) != "Admin's own prompt"
