"""Admin and friend identity cannot be taken over by renaming accounts."""

from __future__ import annotations

from llmdoor import AccessSettings
from tests.e2e.conftest import StartBot

BOSS_ID, IMPOSTOR_ID = 10, 66


async def test_admin_username_cannot_be_taken_over(start_bot: StartBot) -> None:
    async with start_bot(access=AccessSettings(admins="@boss", friends="200")) as running:
        tg = running.tg
        boss = tg.user(BOSS_ID, "Boss", username="boss")
        await boss.send("/help")
        help_text = await tg.wait_for_message(boss.id)
        assert "/stats" in help_text.text  # the first account seen as @boss is the admin

        # The boss renames, and another account takes the name @boss.
        tg.user(BOSS_ID, "Boss", username="boss_renamed")
        impostor = tg.user(IMPOSTOR_ID, "Mallory", username="boss")
        await impostor.send("/stats")
        refusal = await tg.wait_for_message(impostor.id)
        assert "private bot" in refusal.text
        await tg.wait_quiet()
        assert len(impostor.chat.bot_messages) == 1  # no stats panel, only the refusal
        assert await running.app.authority.admin_chat_ids() == [BOSS_ID]
        assert await running.storage.identities.bound() == {"boss": BOSS_ID}
