"""More people write at once than the send budget's burst can greet: each of them still
sees "typing…" while the model is thinking, the ones beyond the burst as spare budget
comes back (in the order they asked: tests/bot/test_first_signs.py), and each gets exactly
one answer."""

from __future__ import annotations

from app.config import BotSettings
from llmdoor import AccessSettings
from tests.e2e.conftest import StartBot
from tests.fakes.openai_server import Reply

USERS = [301 + n for n in range(12)]
RATE = 10.0  # a burst of 5 (DEFAULT_BURST_SECONDS = 0.5): 7 of the 12 must wait for theirs


async def test_everyone_beyond_the_burst_gets_typing_before_the_model_answers(
    start_bot: StartBot,
) -> None:
    access = AccessSettings(admins="100", friends=",".join(map(str, USERS)))
    bot = BotSettings(draft_interval=0.02, edit_interval=0.05, global_rate_per_second=RATE)
    async with start_bot(access=access, bot=bot) as running:
        tg, fake = running.tg, running.fake_llm
        # The model thinks for 3 s: far longer than the 0.7 s the budget needs to greet all.
        fake.script(*(Reply(text=f"answer {n}", delay=3.0) for n in range(len(USERS))))
        mark = len(tg.calls())
        for uid in USERS:
            await tg.user(uid, f"U{uid}").send(f"question from {uid}")
        for uid in USERS:
            await tg.wait_for_message(uid, lambda m: m.text.startswith("answer "), timeout=30)
        await tg.wait_quiet(quiet=0.3, timeout=10)
        calls = [c for c in tg.calls()[mark:] if c.method != "getUpdates"]
        first_chunk = min(r.first_chunk_at for r in fake.chat_requests if r.first_chunk_at)
        typing = [c for c in calls if c.method == "sendChatAction"]
        assert sorted(int(c.params["chat_id"]) for c in typing) == USERS  # one each
        assert all(c.time < first_chunk for c in typing)
        for uid in USERS:
            answers = [m for m in tg.chat(uid).bot_messages if m.text.startswith("answer ")]
            assert len(answers) == 1
        assert tg.served_429 == 0
