"""Everything the bot stores survives a server restart on the same data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.storage import Storage, Turn, open_storage
from tests.storage import usage_fixture as fx
from tests.storage.mongo_server import SecantusProcess, fresh_db_name, mongo_kind

pytestmark = pytest.mark.skipif(
    mongo_kind() == "real", reason="stops the server: SecantusDB stand-in only"
)


async def _write(st: Storage) -> dict[str, str]:
    await st.users.upsert_seen(1, "Alice", "Alice", None, "en")
    await st.users.set_approved(1, True)
    await st.users.set_model(1, "claude-sonnet")
    await st.users.set_budget(1, 1.25)
    await st.users.set_language(1, "ru")
    await st.users.upsert_seen(2, "bob")
    req, _ = await st.requests.open_or_get_pending(2, "bob", "Bob")
    await st.requests.add_card(req.id, 100, 7)
    denied, _ = await st.requests.open_or_get_pending(3, "eve", "Eve")
    await st.requests.decide(denied.id, "denied", 1)
    conv = await st.conversations.active(1, 1)
    await st.conversations.append(
        conv.id, [Turn(role="user", content="hi"), Turn(role="assistant", content="yo")]
    )
    for event in fx.events()[:5]:
        await st.usage_sink.record(event)
    await st.usage.add_many(fx.events()[5:])
    return {"pending": req.id, "denied": denied.id, "conv": conv.id}


async def test_everything_survives_a_restart(data_dir: Path) -> None:
    db = fresh_db_name("restart")
    first = SecantusProcess(data_dir)
    await first.astart()
    try:
        st = await open_storage(first.uri, db_name=db)
        ids = await _write(st)
        await st.close()
    finally:
        await first.astop()

    second = SecantusProcess(data_dir)  # a new server (new port) on the same directory
    await second.astart()
    try:
        st = await open_storage(second.uri, db_name=db)
        try:
            alice = await st.users.get(1)
            assert alice is not None
            assert (alice.username, alice.approved, alice.model) == ("Alice", True, "claude-sonnet")
            assert (alice.daily_budget_usd, alice.language) == (1.25, "ru")
            assert await st.users.is_approved(1) and not await st.users.is_approved(2)
            assert [u.user_id for u in await st.users.list_approved()] == [1]
            assert (await st.users.find_by_username("@BOB")).user_id == 2  # type: ignore[union-attr]

            pending = await st.requests.list_pending()
            assert [r.id for r in pending] == [ids["pending"]]
            assert [(c.chat_id, c.message_id) for c in pending[0].cards] == [(100, 7)]
            assert (await st.requests.get(ids["denied"])).status == "denied"  # type: ignore[union-attr]
            again, created = await st.requests.open_or_get_pending(2, "bob", "Bob")
            assert not created and again.id == ids["pending"]

            conv = await st.conversations.active(1, 1)
            assert conv.id == ids["conv"]
            assert [t.content for t in conv.turns] == ["hi", "yo"]

            assert await st.usage.count() == 10
            assert (await st.usage.totals()).model_dump() == fx.TOTALS_ALL
            assert [u.model_dump() for u in await st.usage.per_user()] == fx.PER_USER_ALL
        finally:
            await st.close()
    finally:
        await second.astop()
