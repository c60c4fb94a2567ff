"""The life of a running bot, the same in polling and webhook mode: build, start up, drain
the updates in progress, close. `runner.run_polling` and `webhook.run_webhook` only serve
updates between `on_startup` and `drain`; neither knows the other."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from app.bot.account.menu import register_commands
from app.bot.delivery.telegram import create_bot
from app.bot.factory import BotApp, create_app
from app.bot.run.fsm import make_fsm_storage
from app.bot.run.heap import freeze_heap_after
from app.bot.run.liveness import LastContact, heartbeat
from app.config import Settings
from app.healthcheck import HEARTBEAT_FILE
from app.services.media.service import FeatureOff, FeatureReport, MediaService
from app.storage import open_storage
from llmdoor import Role, UnknownModel, aclose, gateway_catalog, warm_up

log = logging.getLogger(__name__)

# Start-up chores running in the background; referenced here until they finish.
_chores: set[asyncio.Task[None]] = set()


async def build_running_app(settings: Settings) -> BotApp:
    bot = create_bot(settings)  # fails fast on a bad token, before opening storage
    uri = settings.storage.uri.get_secret_value() if settings.storage.uri else None
    storage = await open_storage(
        uri,
        db_name=settings.storage.db,
        max_conversations=settings.bot.memory_max_conversations,
        timeout_ms=settings.storage.timeout_ms,
        operation_timeout_ms=settings.storage.operation_timeout_ms,
        probe_interval=settings.storage.probe_interval,
        retention_days=settings.storage.usage_retention_days,
    )
    # One breaker: dialog state and the repositories share one view of the database.
    fsm_storage = make_fsm_storage(
        uri,
        db_name=settings.storage.db,
        breaker=storage.breaker,
        timeout_ms=settings.storage.timeout_ms,
        operation_timeout_ms=settings.storage.operation_timeout_ms,
    )
    return create_app(settings, storage=storage, bot=bot, fsm_storage=fsm_storage)


async def on_startup(app: BotApp, *, freeze_heap: bool = False) -> None:
    """Before this process takes updates: warm up, menus, the ready line. Ready means
    ready: the callers start polling (or serving the webhook and /healthz) only once this
    returns, after the provider's warm-up, so no user's first message waits for it.
    ``freeze_heap`` (the bot's own process, not tests that build many apps in one): after
    the warm-up, take the start-up heap out of the garbage collector's reach (app.bot.run.heap)."""
    # litellm takes seconds to import: in a thread, while the loop does the other chores.
    try:
        default_model = app.llm.resolve_model(app.settings.llm.default_model)
    except UnknownModel as exc:
        log.warning("LLM_DEFAULT_MODEL: %s Users can still pick a model with /model.", exc)
        default_model = "openai/gpt-4o-mini"
    warming_since = time.monotonic()
    warmed = asyncio.get_running_loop().run_in_executor(None, warm_up, default_model)
    if freeze_heap:
        _chore(freeze_heap_after(warmed))
    # Join the instances sharing BOT_GLOBAL_RATE_PER_SECOND (MongoDB; a no-op in memory).
    await app.send_budget.start()
    if app.tools is not None:
        await app.tools.start()  # MCP servers connect in the background
    await _warmed(warmed, warming_since)
    media: MediaService = app.dispatcher.workflow_data["media"]
    _chore(log_media_features(media))
    await register_commands(
        app.bot,
        app.i18n,
        await app.authority.admin_chat_ids(),
        friend_features=await media.features(Role.FRIEND),
        admin_features=await media.features(Role.ADMIN),
    )
    if not app.settings.access.is_configured:
        log.warning(
            "access: no ACCESS_ADMINS, ACCESS_FRIENDS or ACCESS_ALLOW_EVERYONE set, so nobody "
            "can chat and nobody can approve requests: set ACCESS_ADMINS to your Telegram id"
        )
    me = await app.bot.me()
    log.info(
        "bot @%s ready: mode=%s storage=%s default model=%s",
        me.username,
        app.settings.telegram.mode,
        app.storage.backend,
        app.settings.llm.default_model,
    )


async def _warmed(warmed: asyncio.Future[None], since: float) -> None:
    """Until the warm-up ends; how long it took goes to the log. A failed warm-up is not
    fatal: the first real call reports what is wrong."""
    await asyncio.wait({warmed})
    took = time.monotonic() - since
    failure = None if warmed.cancelled() else warmed.exception()
    if failure is None:
        log.info("provider warm-up took %.1f s", took)
    else:
        log.warning(
            "provider warm-up failed after %.1f s (%s): the first call will tell more",
            took,
            type(failure).__name__,
        )


def _chore(work: Coroutine[Any, Any, None]) -> None:
    chore = asyncio.create_task(work)
    _chores.add(chore)
    chore.add_done_callback(_chores.discard)


def describe_feature(report: FeatureReport) -> tuple[int, str]:
    """The log level and line for one media feature; model ids only, never a key."""
    name, model = report.feature.value, report.model_id
    reason = report.off_for_admins
    if reason is FeatureOff.UNKNOWN_MODEL:
        close = f" (close: {', '.join(report.suggestions)})" if report.suggestions else ""
        why = f"{report.setting} names no known {name} model{close}"
    elif reason is FeatureOff.NO_KEY:
        why = f"no API key (or local address) is set for the provider of {model}"
    elif reason is FeatureOff.NOT_SERVED:
        why = f"the gateway at LLM_API_BASE does not serve {model}"
    elif report.off_for_friends is FeatureOff.UNPRICED:
        return logging.WARNING, (
            f"media: {name} is for admins only: litellm has no price for {model}, "
            "so friends' budgets could not count it"
        )
    else:
        return logging.INFO, f"media: {name} on ({model})"
    return logging.WARNING, f"media: {name} is off: {why}"


async def log_media_features(media: MediaService) -> None:
    """Which media features are off and why: a misspelled LLM_*_MODEL would otherwise
    only show as a command missing from /help."""
    for report in await media.report():
        level, line = describe_feature(report)
        log.log(level, line)


async def drain(app: BotApp) -> bool:
    """Once no new updates arrive: let the answers in progress finish (and record their
    usage) for up to BOT_SHUTDOWN_GRACE_SECONDS. True when all of them finished."""
    if not app.inflight.count:
        return True
    grace = app.settings.bot.shutdown_grace_seconds
    log.info(
        "stopping: waiting up to %.1f s for %s update(s) in progress", grace, app.inflight.count
    )
    if await app.inflight.wait_idle(grace):
        return True
    log.warning(
        "stopping: %s update(s) still running after %.1f s (BOT_SHUTDOWN_GRACE_SECONDS), giving up",
        app.inflight.count,
        grace,
    )
    # Cancelled rather than abandoned: each records its usage before storage closes, and
    # none can reopen the bot's HTTP session after it was closed.
    await app.inflight.cancel_all()
    return False


async def close(app: BotApp) -> None:
    """Release Telegram, storage and the model clients; flushes buffered usage records."""
    await app.send_budget.stop()  # the other instances take our share at their next beat
    await app.chat_service.titles.close()  # background titles write to storage: first
    if app.chat_service.summaries is not None:
        await app.chat_service.summaries.close()
    if app.tools is not None:
        await app.tools.aclose()
    await app.bot.session.close()
    if app.group_history is not None:
        await app.group_history.close()  # what is queued goes to storage before it closes
    started = time.monotonic()
    await app.storage.close()
    await app.dispatcher.storage.close()
    await aclose()
    log.info(
        "stopped; usage records flushed in %.1f s (written=%s, still buffered=%s)",
        time.monotonic() - started,
        app.storage.usage_sink.written,
        app.storage.usage_sink.buffered,
    )


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[BotApp]:
    """A built app with its liveness heartbeat; drained and closed however serving ends."""
    app = await build_running_app(settings)
    contact = LastContact()
    app.bot.session.middleware(contact)
    beating = asyncio.create_task(heartbeat(contact, HEARTBEAT_FILE))
    discovery = gateway_catalog(settings.llm)
    rediscover = (
        asyncio.create_task(discovery.run_periodically(settings.llm.gateway_refresh_seconds))
        if discovery is not None
        else None
    )
    if app.scheduler is not None:
        app.scheduler.start()
    try:
        yield app
    finally:
        if app.scheduler is not None:
            await app.scheduler.stop()
        beating.cancel()
        if rediscover is not None:
            rediscover.cancel()
        await drain(app)
        await close(app)
