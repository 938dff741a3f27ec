"""hyperchat: a self-hosted LLM chat app built the hypermedia way."""

import asyncio
import logging
from pathlib import Path

from markupsafe import Markup
from quart import Quart

from hyperchat import actions, conversations, db, errors, metering, security
from hyperchat import config as configuration
from hyperchat.events import MemoryEventBus
from hyperchat.generation import Generations
from hyperchat.live_redis import RedisEventBus, RedisStreamHub
from hyperchat.models import Message, Status
from hyperchat.rendering import render_markdown, shorten_model_name
from hyperchat.streaming import MemoryStreamHub
from hyperchat.upstream import demo
from hyperchat.upstream.client import Upstream

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)


async def purge_trash_periodically(retention_days: int, every: float = 3600) -> None:
    """Delete conversations kept in the trash longer than the retention, now and hourly."""
    while True:
        try:
            purged = await conversations.purge_trash(retention_days)
            if purged:
                log.info("purged %d conversations from the trash", purged)
        except Exception:
            log.exception("trash purge failed")
        await asyncio.sleep(every)


async def clean_up_actions_periodically(app: Quart) -> None:
    """Every CHAT_ACTIONS_CLEANUP_INTERVAL: purge the text of messages deleted past their
    undo window, and forget idle event channels. (The quota store bounds its own keys.)"""
    while True:
        await asyncio.sleep(app.config["CHAT_ACTIONS_CLEANUP_INTERVAL"])
        try:
            await actions.purge_deleted(app.config["MESSAGE_UNDO_SECONDS"])
            app.extensions["events"].cleanup()
        except Exception:
            log.exception("message actions cleanup failed")


def create_app(config: dict | None = None) -> Quart:
    """Build the app: defaults, then the environment, then `config` (what tests pass)."""
    app = Quart(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.update(configuration.DEFAULTS)
    app.config.update(configuration.from_environment())
    app.config.from_prefixed_env("HYPERCHAT")
    app.config.update(config or {})
    # HYPERCHAT_-prefixed variables arrive as JSON or plain strings: one reading for all.
    for name in configuration.YES_NO:
        app.config[name] = configuration.yes_no(name, app.config[name])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = configuration.persistent_secret_key()
    app.config["DEMO_MODE"] = app.config["DEFAULT_MODEL"] == demo.MODEL_ID

    # Sanitized by render_markdown, so it is safe to mark as HTML.
    app.jinja_env.filters["markdown"] = lambda text: Markup(render_markdown(text))
    app.jinja_env.filters["short_model"] = shorten_model_name
    # Where a conversation's live events stand when a page is rendered: its tabs follow on.
    app.jinja_env.globals["events_position"] = (
        lambda conversation_id: app.extensions["events"].position(conversation_id))  # async
    errors.init_app(app)
    security.init_app(app)
    from hyperchat.views import (
        actions,
        analytics,
        assets,
        conversations,
        exports,
        health,
        messages,
        search,
        sessions_api,
        shares,
    )

    for blueprint in (assets.bp, conversations.bp, messages.bp, search.bp, shares.bp,
                      sessions_api.bp, exports.bp, health.bp, actions.bp,
                      analytics.bp):
        app.register_blueprint(blueprint)

    @app.before_serving
    async def start() -> None:
        # The live seams: this process's memory, or Redis shared by every worker. Redis
        # first: when it cannot be reached, start fails (RedisUnavailable, naming REDIS_URL)
        # before any database connection is open.
        redis_url = app.config.get("REDIS_URL")
        if redis_url:
            hub, bus = RedisStreamHub(redis_url), RedisEventBus(redis_url)
            try:
                await hub.start()
                await bus.start()
            except BaseException:
                await hub.aclose()
                await bus.aclose()
                raise
        else:
            hub, bus = MemoryStreamHub(), MemoryEventBus()
        app.extensions["events"] = bus
        url = app.config["DATABASE_URL"]
        if app.config["RUN_MIGRATIONS"]:
            await db.migrate(url)
        await db.connect(url)
        # Replies that were streaming when their process died cannot resume: say so,
        # keeping whatever text was saved. With Redis, a reply whose stream is still open
        # is another worker's, alive; a dead worker's stays "streaming" until its stream
        # expires (LIVE_TTL) and a later start sweeps it.
        streaming = await Message.filter(status=Status.STREAMING).values_list("id", flat=True)
        orphans = set(streaming) - await hub.live(list(streaming))
        if orphans:
            await Message.filter(id__in=orphans, status=Status.STREAMING).update(
                status=Status.ERROR, error="The server restarted before this reply finished.")
        upstream = Upstream(
            base_url=app.config["OPENROUTER_BASE_URL"],
            api_key=app.config["OPENROUTER_API_KEY"],
            connect_timeout=app.config["UPSTREAM_CONNECT_TIMEOUT"],
            read_timeout=app.config["UPSTREAM_READ_TIMEOUT"],
            demo_token_delay=app.config["DEMO_TOKEN_DELAY"],
        )
        app.extensions["generations"] = Generations(
            hub, upstream,
            partial_save_interval=app.config["PARTIAL_SAVE_INTERVAL"],
            title_model=app.config.get("TITLE_MODEL"),
            thought_process=app.config["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"])
        app.extensions["purger"] = asyncio.create_task(
            purge_trash_periodically(app.config["TRASH_RETENTION_DAYS"]), name="trash-purge")
        app.extensions["action_cleanup"] = asyncio.create_task(
            clean_up_actions_periodically(app), name="actions-cleanup")

    @app.after_serving
    async def stop() -> None:
        app.extensions["purger"].cancel()
        app.extensions["action_cleanup"].cancel()
        generations: Generations = app.extensions["generations"]
        await generations.shutdown()
        await generations.upstream.aclose()
        for seam in (generations.hub, app.extensions["events"]):
            if hasattr(seam, "aclose"):
                await seam.aclose()
        await db.disconnect()

    metering.init_app(app)
    return app
