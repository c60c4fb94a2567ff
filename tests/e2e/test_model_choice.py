"""/model through the emulator: names of any length get a readable answer, and the catalog
rules of ModelService hold for friends and admins alike."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, Running


@pytest.mark.parametrize("name", ["x" * 4089, "openai/" + "x" * 4082, "a b" * 1363])
async def test_model_with_a_4000_character_name_gets_a_clipped_echo(
    running: Running, name: str
) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send(f"/model {name}")  # 4096 characters: as long as Telegram allows
    reply = await tg.wait_for_message(friend.id, lambda m: "model" in m.text.lower())
    assert "went wrong" not in reply.text
    assert name[:64] + "…" in reply.text and len(reply.text) < 200
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None


async def test_friend_is_refused_an_unknown_provider_and_an_unpriced_local_model(
    running: Running,
) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    for name in ("evil/model", "ollama/llama3"):
        await friend.send(f"/model {name}")
        reply = await tg.wait_for_message(friend.id, lambda m, n=name: n in m.text)
        assert reply.text == f"Model {name} is not in the catalog. Pick one with /model."
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.model is None


async def test_admin_may_pick_any_model_litellm_can_route(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/model openai/my-finetune")
    await tg.wait_for_message(
        admin.id, lambda m: m.text.startswith("Model set to openai/my-finetune.")
    )
    await admin.send("hi")
    await tg.wait_for_message(admin.id, lambda m: m.text == "echo: hi")
    assert fake.chat_requests[-1].json["model"] == "my-finetune"
