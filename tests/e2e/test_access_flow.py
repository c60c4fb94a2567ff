"""The access gate and the request-access flow, end to end through the emulator, including a
request made while no admin could be reached yet."""

from __future__ import annotations

from aiogram.types import Update

from app.bot.access.keyboards import AccessDecisionCallback
from llmdoor import AccessSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, STRANGER_ID, Running, StartBot


async def test_stranger_is_refused_with_request_button_and_model_never_called(
    running: Running,
) -> None:
    tg = running.tg
    stranger = tg.user(STRANGER_ID, "Eve", username="eve")
    await stranger.send("hello, model?")
    reply = await tg.wait_for_message(stranger.id)
    assert "private bot" in reply.text
    assert [b["text"] for b in reply.buttons] == ["🔑 Request access"]
    await tg.wait_quiet()
    assert running.fake_llm.chat_requests == []
    assert len(stranger.messages) == 2  # the question and the refusal, nothing else


async def test_request_approve_then_chat(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ada", username="ada")
    stranger = tg.user(STRANGER_ID, "Eve", last_name="Smith", username="eve")
    await admin.send("/start")  # the admin has opened the bot
    await tg.wait_for_message(admin.id)

    await stranger.send("hi")
    refusal = await tg.wait_for_message(stranger.id)
    answer = await stranger.press(refusal, "🔑 Request access")
    assert answer is not None
    card = await tg.wait_for_message(admin.id, lambda m: "Access request" in m.text)
    assert "Eve Smith" in card.text and "@eve" in card.text and str(STRANGER_ID) in card.text
    assert [b["text"] for b in card.buttons] == ["✅ Approve", "⛔ Deny"]

    # Pressing again coalesces: still one pending request, no second card.
    again = await stranger.press(refusal, "🔑 Request access")
    assert again is not None and "already" in (again.text or "")
    assert len(await running.storage.requests.list_pending()) == 1
    assert len([m for m in admin.messages if "Access request" in m.text]) == 1

    await admin.press(card, "✅ Approve")
    await tg.wait_until(lambda: "Approved by" in card.text)
    assert card.buttons == []
    told = await tg.wait_for_message(stranger.id, lambda m: "approved" in m.text)
    assert "approved" in told.text
    assert await running.storage.users.is_approved(STRANGER_ID)

    await stranger.send("now may I?")
    reply = await tg.wait_for_message(stranger.id, lambda m: "echo:" in m.text)
    assert reply.text == "echo: now may I?"


async def test_deny_updates_every_admin_card(start_bot: StartBot) -> None:
    from llmdoor import AccessSettings

    async with start_bot(access=AccessSettings(admins=f"{ADMIN_ID},101")) as running:
        tg = running.tg
        admins = [tg.user(ADMIN_ID, "Ada"), tg.user(101, "Bob")]
        stranger = tg.user(STRANGER_ID, "Eve")
        await stranger.send("hi")
        refusal = await tg.wait_for_message(stranger.id)
        await stranger.press(refusal, "🔑 Request access")
        cards = [
            await tg.wait_for_message(a.id, lambda m: "Access request" in m.text) for a in admins
        ]
        await admins[1].press(cards[1], "⛔ Deny")
        for card in cards:
            await tg.wait_until(lambda c=card: "Denied by" in c.text)
            assert card.buttons == []
        await tg.wait_for_message(stranger.id, lambda m: "declined" in m.text)
        assert not await running.storage.users.is_approved(STRANGER_ID)
        # A replay of the approve button after the decision grants nothing.
        late = await admins[0].press(cards[0], "✅ Approve") if cards[0].buttons else None
        assert late is None
        request = await running.storage.requests.last_request_for(STRANGER_ID)
        assert request is not None and request.status == "denied"
        replay = await admins[0].send_callback(
            AccessDecisionCallback(action="approve", request_id=request.id).pack(), cards[0]
        )
        assert replay is not None and "Already decided" in (replay.text or "")
        assert not await running.storage.users.is_approved(STRANGER_ID)


async def test_forged_decision_callback_grants_nothing(running: Running) -> None:
    tg = running.tg
    stranger = tg.user(STRANGER_ID, "Eve")
    friend = tg.user(FRIEND_ID, "Fred")
    await stranger.send("hi")
    refusal = await tg.wait_for_message(stranger.id)
    await stranger.press(refusal, "🔑 Request access")
    request = await running.storage.requests.last_request_for(STRANGER_ID)
    assert request is not None
    forged = AccessDecisionCallback(action="approve", request_id=request.id).pack()

    by_stranger = await stranger.send_callback(forged, refusal)
    assert by_stranger is not None and "don't have access" in (by_stranger.text or "")
    by_friend = await friend.send_callback(forged)
    assert by_friend is not None and "Only admins" in (by_friend.text or "")
    garbage = await friend.send_callback("acc:approve:ffffffffffffffffffffffff")
    assert garbage is not None and "Only admins" in (garbage.text or "")

    assert not await running.storage.users.is_approved(STRANGER_ID)
    still = await running.storage.requests.get(request.id)
    assert still is not None and still.status == "pending"


async def test_gate_covers_edits_inline_queries_and_groups(running: Running) -> None:
    tg = running.tg
    stranger = tg.user(STRANGER_ID, "Eve")
    first = await stranger.send("hi")
    await tg.wait_for_message(stranger.id)
    await stranger.edit(first, "edited hi")
    # The bot has no inline mode, so Telegram would not even send inline queries; fed
    # directly, the gate still answers one with nothing.
    query_id = tg.issue_query_id()
    await running.app.dispatcher.feed_update(
        running.app.bot,
        Update.model_validate(
            {
                "update_id": 1,
                "inline_query": {
                    "id": query_id,
                    "from": stranger.as_dict,
                    "query": "tell me a secret",
                    "offset": "",
                },
            }
        ),
    )
    inline = await tg.wait_until(lambda: tg.inline_answers.get(query_id))
    assert inline.results == []
    group = tg.group(-500, "Friends")
    await stranger.send_in(group, "answer me", mention_bot=True)
    await tg.wait_quiet()
    assert running.fake_llm.chat_requests == []
    assert group.chat.bot_messages == []
    assert len(stranger.chat.bot_messages) == 1  # the one refusal


async def test_friend_by_username_and_russian_refusal(running: Running) -> None:
    tg = running.tg
    pal = tg.user(201, "Pal", username="PAL")  # ACCESS_FRIENDS has @pal
    await pal.send("hello")
    reply = await tg.wait_for_message(pal.id, lambda m: "echo:" in m.text)
    assert reply.text == "echo: hello"

    ivan = tg.user(301, "Иван", language_code="ru")
    await ivan.send("привет")
    refusal = await tg.wait_for_message(ivan.id)
    assert "закрытый" in refusal.text.lower() or "доступ" in refusal.text.lower()


async def test_a_request_no_admin_saw_is_sent_again(start_bot: StartBot) -> None:
    async with start_bot(access=AccessSettings(admins="@owner")) as running:
        tg = running.tg
        stranger = tg.user(STRANGER_ID, "Eve")
        await stranger.send("hi")
        refusal = await tg.wait_for_message(stranger.id)
        first = await stranger.press(refusal, "🔑 Request access")
        assert first is not None and "no admin can be reached" in (first.text or "")

        owner = tg.user(42, "Owner", username="owner")  # the admin opens the bot at last
        await owner.send("/start")
        await tg.wait_for_message(owner.id)
        second = await stranger.press(refusal, "🔑 Request access")
        assert second is not None and "sent to the admins" in (second.text or "")
        card = await tg.wait_for_message(owner.id, lambda m: "Access request" in m.text)
        assert [b["text"] for b in card.buttons] == ["✅ Approve", "⛔ Deny"]
        assert len(await running.storage.requests.list_pending()) == 1
