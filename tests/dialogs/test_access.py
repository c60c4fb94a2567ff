"""/access: pending requests, revoke, budgets."""

from __future__ import annotations

import pytest
from aiogram_dialog.test_tools.keyboard import InlineButtonTextLocator

from app.access import parse_budget

from .conftest import ADMIN_ID, FRIEND_ID, App

DAVE = 555


def text(app: App) -> str:
    return app.mm.last_message().text or ""


async def click(app: App, label: str) -> None:
    await app.client(ADMIN_ID).click(app.mm.last_message(), InlineButtonTextLocator(label))


async def test_pending_approve_calls_access_decide(app: App) -> None:
    req, _ = await app.storage.requests.open_or_get_pending(DAVE, "dave", "Dave D")
    await app.client(ADMIN_ID).send("/access")
    assert "Pending requests: 1" in text(app)
    await click(app, r"Pending requests \(1\)")
    await click(app, r"@dave \(id 555\)")
    assert "Dave D" in text(app)
    await click(app, "✅ Approve")
    assert app.access.decisions == [(req.id, ADMIN_ID, True)]
    assert "Request of @dave: approved." in text(app)
    assert "No pending access requests." in text(app)


async def test_deny(app: App) -> None:
    req, _ = await app.storage.requests.open_or_get_pending(DAVE, None, "Dave D")
    await app.client(ADMIN_ID).send("/access")
    await click(app, r"Pending requests \(1\)")
    await click(app, r"Dave D \(id 555\)")
    await click(app, "❌ Deny")
    assert app.access.decisions == [(req.id, ADMIN_ID, False)]
    assert "denied" in text(app)


async def test_friends_list_and_revoke(app: App) -> None:
    await app.storage.users.upsert_seen(DAVE, "dave", "Dave")
    await app.storage.users.set_approved(DAVE, True)
    await app.client(ADMIN_ID).send("/access")
    await click(app, "Friends")
    assert "200, @carol" in text(app)  # from ACCESS_FRIENDS
    await click(app, "@dave · no limit")
    await click(app, "Revoke access")
    await click(app, "Yes, revoke")
    assert app.access.revokes == [(DAVE, ADMIN_ID)]
    assert "Access of @dave revoked." in text(app)
    assert not await app.storage.users.is_approved(DAVE)


async def test_budget_set_by_text_then_no_limit(app: App) -> None:
    await app.storage.users.upsert_seen(FRIEND_ID, "bob", "Bob")
    client = app.client(ADMIN_ID)
    await client.send("/access")
    await click(app, "Budgets")
    assert "@bob · no limit" in [
        b.text for row in app.mm.last_message().reply_markup.inline_keyboard for b in row
    ]
    await click(app, "@bob · no limit")
    await client.send("abc")
    assert "That is not an amount" in text(app)
    assert (await app.storage.users.get(FRIEND_ID)).daily_budget_usd is None
    await client.send("$2,50")
    assert (await app.storage.users.get(FRIEND_ID)).daily_budget_usd == 2.5
    assert "Daily budget of @bob set to $2.50 per day." in text(app)
    await click(app, "@bob · \\$2.50 per day")
    await click(app, "No limit")
    assert (await app.storage.users.get(FRIEND_ID)).daily_budget_usd is None
    assert app.fallthrough == []  # the typed amounts were the dialog's, not the chat's


async def test_budget_window_lets_commands_and_other_users_through(app: App) -> None:
    client = app.client(ADMIN_ID)
    await client.send("/access")
    await click(app, "Budgets")
    await click(app, "200 · no limit")  # a configured friend who never wrote
    await client.send("/new")
    assert app.fallthrough == ["/new"]


@pytest.mark.parametrize(("raw", "value"), [("2.5", 2.5), ("$ 3", 3.0), ("0", 0.0)])
def test_parse_budget_ok(raw: str, value: float) -> None:
    assert parse_budget(raw) == value


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "1e9", "two", ""])
def test_parse_budget_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_budget(raw)
