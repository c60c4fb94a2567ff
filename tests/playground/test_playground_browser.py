"""The playground in a real browser: headless Chromium (Debian's package, driven by
Selenium through Debian's chromedriver) opens the page, sends a message as the friend,
sees the answer streamed as drafts and then sent, and presses an inline button.

Chromium is installed by .ci/run; locally `apt-get install chromium chromium-driver`.
Without it this test fails: it is never skipped."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from playground.bot import running_playground
from playground.fake_model import FAKE_PREFIX
from playground.web import create_web_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

pytestmark = pytest.mark.timeout(300)


def _browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(
                f"{path} is missing: apt-get install chromium chromium-driver (.ci/run does)",
                pytrace=False,
            )
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The driver named explicitly: Selenium Manager never looks for (or downloads) one.
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def _drive(url: str, profile: str) -> dict[str, Any]:
    """The browser half, in a thread: Selenium's calls block."""
    from selenium.webdriver.common.by import By

    driver = _browser(profile)
    try:
        driver.get(url)
        _until(lambda: "fake model" in driver.find_element(By.ID, "note").text, "the page")
        driver.find_element(By.CSS_SELECTOR, "button[data-user=friend]").click()
        driver.find_element(By.ID, "text").send_keys("hello from the browser")
        driver.find_element(By.ID, "send").click()

        # Read and click through JavaScript: the page redraws as the answer streams in,
        # so element references from one moment go stale the next.
        bot_texts = (
            "return [...document.querySelectorAll('.msg.bot:not(.draft) .text')]"
            ".map(e => e.textContent)"
        )

        def answer() -> str | None:
            texts = driver.execute_script(bot_texts)
            return next((t for t in texts if t.startswith(FAKE_PREFIX)), None)

        answered = _until(answer, "the streamed answer")
        drafts = driver.execute_script("return window.draftsSeen")

        driver.find_element(By.ID, "text").send_keys("/usage")
        driver.find_element(By.ID, "send").click()
        press_on = (
            "const b = [...document.querySelectorAll('.msg.bot .buttons button')]"
            ".find(b => b.textContent === 'On'); if (b) b.click(); return Boolean(b);"
        )
        _until(lambda: driver.execute_script(press_on), "the /usage buttons")
        switched = _until(
            lambda: [t for t in driver.execute_script(bot_texts) if t.startswith("📊")],
            "the switched footer",
        )
        return {"answer": answered, "drafts": drafts, "switched": switched[0]}
    finally:
        driver.quit()


async def test_a_friend_chats_in_the_browser_and_presses_a_button() -> None:
    async with running_playground(force_fake=True) as playground:
        runner = web.AppRunner(create_web_app(playground))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            with tempfile.TemporaryDirectory(prefix="playground-chromium-") as profile:
                seen = await asyncio.to_thread(_drive, f"http://127.0.0.1:{port}/", profile)
        finally:
            await runner.cleanup()
        assert seen["answer"] == f"{FAKE_PREFIX} hello from the browser"
        assert seen["drafts"] >= 1  # the answer was shown while it was being written
        record = await playground.app.storage.users.get(200)
        assert record is not None and record.prefs.usage_footer
        # Streamed: the bot showed the start of the answer before its end was written.
        first_draft = playground.tg.drafts(200)[0].text
        assert first_draft and seen["answer"].startswith(first_draft)
        assert len(first_draft) < len(seen["answer"])
