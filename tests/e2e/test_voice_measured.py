"""Voice notes end to end: the length the bot acts on is the one it measures. A note that
declares 5 s and lasts 300 s is refused as too long under a 60 s cap, and bytes that are
not audio are refused as such; neither reaches the vendor."""

from __future__ import annotations

from app.services.media.limits import MediaLimits
from tests.e2e.conftest import FRIEND_ID, StartBot
from tests.media.files import make_ogg_opus


async def test_a_note_that_lies_about_its_length_is_refused(start_bot: StartBot) -> None:
    async with start_bot(media_limits=MediaLimits(max_audio_seconds=60)) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send_voice(make_ogg_opus(300), duration=5)
        refused = await tg.wait_for_message(friend.id, lambda m: "too long" in m.text)
        assert "60 seconds" in refused.text
        await friend.send_voice(b"OggS" + b"\x00" * 4000, duration=3)
        await tg.wait_for_message(friend.id, lambda m: "doesn't look like audio" in m.text)
        await tg.wait_quiet()
        assert fake.media_requests == []
