"""The menus at chat level, through the emulator: pick a model then chat uses it (friends only
from the catalog), admins open /stats while others get the unknown-command answer and groups
never see admin panels, a spent budget stops the chat, and stale buttons still get an answer."""

from __future__ import annotations

from datetime import UTC, datetime

from pytest import approx

from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, Running, usage_recorded


def _button(message, prefix: str) -> str:  # type: ignore[no-untyped-def]
    for button in message.buttons:
        if button["text"].lstrip("✅ ").startswith(prefix):
            return str(button["text"])
    raise AssertionError(f"no button starting with {prefix!r}: {message.button_texts}")


async def test_pick_a_model_in_the_dialog_then_chat_uses_it(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/model")
    menu = await tg.wait_for_message(friend.id, lambda m: "provider" in m.text.lower())
    await friend.press(menu, _button(menu, "openai"))
    await tg.wait_until(lambda: any(b["text"].startswith("gpt-4o-mini") for b in menu.buttons))
    await friend.press(menu, _button(menu, "gpt-4o-mini"))
    await tg.wait_until(lambda: "Model set to gpt-4o-mini" in menu.text)
    assert len(friend.chat.bot_messages) == 1  # the menu edited in place, no new messages
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4o-mini"

    await friend.send("which model are you?")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: which model are you?")
    assert fake.chat_requests[-1].json["model"] == "gpt-4o-mini"


async def test_model_by_name_and_unknown_name_suggestions(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/model gpt-4.1")
    await tg.wait_for_message(friend.id, lambda m: "Model set to gpt-4.1" in m.text)
    await friend.send("hello")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: hello")
    assert fake.chat_requests[-1].json["model"] == "gpt-4.1"

    await friend.send("/model gpt-4o-mni")
    reply = await tg.wait_for_message(friend.id, lambda m: "Unknown model" in m.text)
    assert "gpt-4o-mini" in reply.button_texts
    await friend.press(reply, "gpt-4o-mini")
    await tg.wait_until(lambda: "Model set to gpt-4o-mini" in reply.text)
    # A forged suggestion naming a model that does not exist changes nothing.
    forged = await friend.send_callback("mpick:no-such-model", reply)
    assert forged is not None
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.model == "gpt-4o-mini"


async def test_stats_for_admins_only(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    admin = tg.user(ADMIN_ID, "Ada")
    await friend.send("count me")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: count me")
    await usage_recorded(running.storage, 1)  # the record follows the answer

    await friend.send("/stats")
    denied = await tg.wait_for_message(friend.id)
    assert denied.text == "I don't know this command. See /help."

    await admin.send("/stats")
    panel = await tg.wait_for_message(admin.id, lambda m: "Requests: 1" in m.text)
    assert "Usage statistics" in panel.text
    await admin.press(panel, _button(panel, "Chart"))
    photo = await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")
    assert photo.kind == "photo"


async def test_spent_budget_stops_the_chat_with_reset_time(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await running.storage.users.set_model(FRIEND_ID, "gpt-4o-mini")  # priced by litellm
    await running.storage.users.set_budget(FRIEND_ID, 0.01)
    await friend.send("first")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: first")
    await usage_recorded(running.storage, 1)
    cost = (await running.storage.usage.totals()).cost_usd
    today = datetime.now(UTC).date()
    # The call reserved its worst case, then was settled to what it really cost.
    assert cost > 0 and await running.storage.spend.spent(FRIEND_ID, today) == approx(cost)
    # More spend today (another chat, another instance) leaves less than one call needs.
    await running.storage.spend.adjust(FRIEND_ID, today, 0.0095)

    await friend.send("second")
    refusal = await tg.wait_for_message(friend.id)
    assert "budget" in refusal.text and "00:00 UTC" in refusal.text
    assert len(fake.chat_requests) == 1  # the model was not called again


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


async def test_unclaimed_buttons_are_answered(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    answer = await friend.send_callback("no-router-knows-this")
    assert answer is not None and answer.text == "This menu has expired."


async def test_admin_panels_stay_out_of_groups(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ada")
    group = tg.group(-700, "Team")
    await admin.send_in(group, "/stats")
    await tg.wait_quiet()
    assert not any("Usage statistics" in m.text for m in group.chat.bot_messages)
