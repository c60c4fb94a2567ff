"""Edge cases found in review, end to end: model ids outside the catalog, a delivery that
fails after the model answered, requests nobody could see yet, stale buttons, photo
downloads that fail, admin panels in groups."""

from __future__ import annotations

from app.llm import AccessSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, STRANGER_ID, Running, StartBot


async def test_friends_cannot_pick_uncatalogued_model_ids_admins_can(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    admin = tg.user(ADMIN_ID, "Ada")
    await friend.send("/model ollama/llama-on-your-host")
    reply = await tg.wait_for_message(friend.id)
    assert "not in the catalog" in reply.text
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None

    await friend.send("/model openai/gpt-4o")  # a full id litellm knows (and prices)
    await tg.wait_for_message(friend.id, lambda m: "Model set to" in m.text)

    await admin.send("/model openai/my-private-finetune")
    await tg.wait_for_message(admin.id, lambda m: "Model set to" in m.text)
    admin_record = await running.storage.users.get(ADMIN_ID)
    assert admin_record is not None and admin_record.model == "openai/my-private-finetune"


async def test_the_exchange_is_kept_when_telegram_refuses_the_answer(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    tg.refuse_drafts()
    tg.fail_next("sendMessage", 400, description="Bad Request: chat not found", times=1)
    await friend.send("remember this")
    await tg.wait_until(lambda: fake.chat_requests)
    await tg.wait_quiet()
    conversation = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
    assert [t.content for t in conversation.turns] == ["remember this", "echo: remember this"]


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


async def test_unclaimed_buttons_are_answered(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    answer = await friend.send_callback("no-router-knows-this")
    assert answer is not None and answer.text == "This menu has expired."


async def test_a_failed_photo_download_is_reported(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    tg.fail_next("getFile", 400, description="Bad Request: file is too big")
    await friend.send_photo(caption="look")
    reply = await tg.wait_for_message(friend.id)
    assert "couldn't download this image" in reply.text
    assert running.fake_llm.chat_requests == []


async def test_admin_panels_stay_out_of_groups(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ada")
    group = tg.group(-700, "Team")
    await admin.send_in(group, "/stats")
    await tg.wait_quiet()
    assert not any("Usage statistics" in m.text for m in group.chat.bot_messages)
