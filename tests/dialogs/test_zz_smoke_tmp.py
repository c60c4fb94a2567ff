from datetime import UTC, datetime

from app.llm.usage import UsageEvent
from tests.e2e.conftest import (  # noqa: F401
    ADMIN_ID, Running, fake_llm, fake_llm_server, running, start_bot, tg,
)


async def test_smoke(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ann", username="ann")
    await admin.send("/model")
    menu = await tg.wait_for_message(admin.id, lambda m: "Current model" in m.text)
    print("MENU", menu.text, [b["text"] for b in menu.buttons])
    openai = next(b["text"] for b in menu.buttons if "openai" in b["text"])
    await admin.press(menu, openai)
    await tg.wait_until(lambda: "Choose a model" in menu.text)
    print("MODELS", [b["text"] for b in menu.buttons][:10])
    pick = next(b["text"] for b in menu.buttons if b["text"].startswith("gpt-4o ·"))
    await admin.press(menu, pick)
    await tg.wait_until(lambda: "Model set to gpt-4o" in menu.text)
    assert (await running.storage.users.get(ADMIN_ID)).model == "gpt-4o"
    await running.storage.usage.add(UsageEvent(user_id=ADMIN_ID, model="openai/gpt-4o",
        cost_usd=0.01, latency_ms=50, created_at=datetime.now(UTC)))
    await admin.send("/stats")
    stats = await tg.wait_for_message(admin.id, lambda m: "Usage statistics" in m.text)
    print("STATS", stats.text)
    ans = await admin.press(stats, "Chart")
    photo = await tg.wait_for_message(admin.id, lambda m: m.kind == "photo", after=stats.message_id)
    print("PHOTO", photo.kind, photo.text, ans)
    await admin.press(stats, "CSV export")
    doc = await tg.wait_for_message(admin.id, lambda m: m.kind == "document", after=stats.message_id)
    print("DOC", doc.text)
    await admin.send("/access")
    acc = await tg.wait_for_message(admin.id, lambda m: "Access management" in m.text)
    ans = await admin.press(stats, "Users")  # stale: /access reset the stack
    print("EXPIRED", ans)
    fresh = await tg.wait_for_message(admin.id, lambda m: "Usage statistics" in m.text, after=acc.message_id)
    print("FRESH", fresh.text[:40])
