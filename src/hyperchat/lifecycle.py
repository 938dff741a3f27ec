"""Start-up and shutdown, in one ordered place: what the app opens before it serves its
first request, the background jobs it runs, and how it closes them, in reverse."""

import asyncio
import functools
import logging

from quart import Quart

from hyperchat.accounts import sessions, throttle
from hyperchat.chat import conversations, message_actions
from hyperchat.chat.generation import Generations, end_unfinished
from hyperchat.files.attachments import Files, Overflow
from hyperchat.files.extraction import Extractor, Limits
from hyperchat.files.storage import DirectoryStorage
from hyperchat.files.transcription import Transcriber
from hyperchat.live.redis_backed import RedisEventBus, RedisStreamHub
from hyperchat.live.reply_buffer import MemoryStreamHub
from hyperchat.live.tab_events import MemoryEventBus
from hyperchat.metering import quotas, usage
from hyperchat.metering.catalog import Catalog
from hyperchat.store import database
from hyperchat.store.schema import Message, Status
from hyperchat.upstream import demo
from hyperchat.upstream.client import Upstream
from hyperchat.web.rendering import Renderer

log = logging.getLogger(__name__)


def init_app(app: Quart) -> None:
    @app.before_serving
    async def start() -> None:
        await start_services(app)

    @app.after_serving
    async def stop() -> None:
        await stop_services(app)

    @app.teardown_request
    async def release_quota(_exc) -> None:
        quotas.release()


async def start_services(app: Quart) -> None:
    config, ext = app.config, app.extensions
    # 1. The live seams: this process's memory, or Redis shared by every worker. Redis first:
    # when it cannot be reached, start fails (RedisUnavailable, naming REDIS_URL) before any
    # database connection is open.
    redis_url = config.get("REDIS_URL")
    if redis_url:
        hub = RedisStreamHub(redis_url, live_ttl=config["REPLY_LIVE_TTL"])
        bus = RedisEventBus(redis_url)
        try:
            await hub.start()
            await bus.start()
        except BaseException:
            await hub.aclose()
            await bus.aclose()
            raise
    else:
        hub, bus = MemoryStreamHub(), MemoryEventBus()
    ext["events"] = bus
    # 2. The database, migrated first when this process is the one that migrates.
    url = config["DATABASE_URL"]
    if config["RUN_MIGRATIONS"]:
        await database.migrate(url)
    await database.connect(url)
    await end_orphaned_replies(hub)
    # 3. The upstream and the generations that stream from it into the hub.
    upstream = Upstream(
        base_url=config["OPENROUTER_BASE_URL"],
        api_key=config["OPENROUTER_API_KEY"],
        connect_timeout=config["UPSTREAM_CONNECT_TIMEOUT"],
        read_timeout=config["UPSTREAM_READ_TIMEOUT"],
        demo_token_delay=config["DEMO_TOKEN_DELAY"],
    )
    generations = ext["generations"] = Generations(
        hub, upstream,
        partial_save_interval=config["PARTIAL_SAVE_INTERVAL"],
        title_model=config.get("TITLE_MODEL"),
        thought_process=config["CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS"],
        max_reply_chars=config["MAX_REPLY_CHARS"],
        max_reasoning_chars=config["MAX_REASONING_CHARS"])
    # 4. Metering: the model catalog (refreshed in the background: no page waits on the
    # provider's model list), a usage record after every reply, the quota counters.
    catalog = ext["catalog"] = Catalog(
        upstream, default_model=config["DEFAULT_MODEL"],
        offline=config["DEFAULT_MODEL"] == demo.MODEL_ID,
        refresh_every=config["CATALOG_REFRESH"], retry_every=config["CATALOG_RETRY"])
    generations.after_reply = functools.partial(usage.record_reply, catalog=catalog)
    ext["quota_store"] = quotas.store_for(redis_url)
    ext["quota_starting"] = quotas.Starting()
    # 5. Markdown for pages, rendered off the event loop (its processes start on first need).
    ext["renderer"] = Renderer(workers=config["RENDER_WORKERS"],
                               timeout=config["RENDER_TIMEOUT"],
                               cache_chars=config["RENDER_CACHE_CHARS"])
    # 6. Files: originals kept in UPLOAD_DIR, text extracted in processes of their own (started
    # on first need), audio transcribed by the provider.
    ext["files"] = files_service(config)
    # 7. Background jobs.
    ext["background"] = [
        asyncio.create_task(catalog.run(), name="catalog-refresh"),
        asyncio.create_task(purge_trash_periodically(config["TRASH_RETENTION_DAYS"],
                                                     files=ext["files"],
                                                     staged_hours=config["STAGED_FILE_HOURS"]),
                            name="trash-purge"),
        asyncio.create_task(clean_up_actions_periodically(app), name="actions-cleanup"),
        asyncio.create_task(reap_orphaned_replies_periodically(
            hub, config["REPLY_REAPER_INTERVAL"]), name="orphan-reaper"),
    ]


async def stop_services(app: Quart) -> None:
    ext = app.extensions
    for task in ext["background"]:
        task.cancel()
    await ext["quota_store"].aclose()
    generations: Generations = ext["generations"]
    await generations.shutdown()
    await generations.upstream.aclose()
    for seam in (generations.hub, ext["events"]):
        if hasattr(seam, "aclose"):
            await seam.aclose()
    await ext["renderer"].aclose()
    await ext["files"].aclose()
    await database.disconnect()


RESTARTED = "The server restarted before this reply finished."
WORKER_LOST = "The worker writing this reply stopped before it finished; the text so far is kept."


async def orphaned_replies(hub) -> set[int]:
    """Replies "streaming" in the database that no worker is writing: not live in the hub
    (this process's memory, or Redis, where a worker's heartbeat keeps its own live)."""
    streaming = await Message.filter(status=Status.STREAMING).values_list("id", flat=True)
    return set(streaming) - await hub.live(list(streaming))


async def end_orphaned_replies(hub) -> None:
    """At start: replies that were streaming when their process died cannot resume: say so,
    keeping whatever text was saved. With Redis, a reply whose stream is still open is
    another worker's, alive; a dead worker's is left to the reaper."""
    await end_unfinished(list(await orphaned_replies(hub)), Status.ERROR, RESTARTED)


async def reap_orphaned_replies_periodically(hub, every: float) -> None:
    """Every REPLY_REAPER_INTERVAL: end the replies no worker writes any more (a worker
    killed outright, a save the database refused), in any worker, without waiting for a
    restart. A reply must look orphaned at two ticks in a row: a reply is saved as
    "streaming" a moment before its task registers it live, and must not be reaped then."""
    suspects: set[int] = set()
    while True:
        await asyncio.sleep(every)
        try:
            orphans = await orphaned_replies(hub)
            ended = await end_unfinished(list(orphans & suspects), Status.ERROR, WORKER_LOST)
            if ended:
                log.warning("ended %d replies no worker was writing", ended)
            suspects = orphans - suspects
        except Exception:
            log.exception("orphaned replies: reaper failed")


def files_service(config) -> Files:
    from pathlib import Path
    root = Path(config["UPLOAD_DIR"])
    extractor = Extractor(config["EXTRACT_WORKERS"], Limits(
        timeout=config["EXTRACT_TIMEOUT"], pdf_max_pages=config["PDF_MAX_PAGES"],
        max_image_pixels=config["MAX_IMAGE_PIXELS"],
        docx_max_unpacked=config["DOCX_MAX_UNPACKED"], ocr=config["OCR_ENABLED"],
        languages=config["OCR_LANGUAGES"]))
    transcriber = Transcriber(config["TRANSCRIPTION_BASE_URL"],
                              config["TRANSCRIPTION_API_KEY"], config["TRANSCRIPTION_MODEL"],
                              config["TRANSCRIPTION_TIMEOUT"], demo=config["DEMO_MODE"])
    return Files(DirectoryStorage(root), extractor, transcriber,
                 Overflow(config["ATTACHMENT_MAX_TOKENS"], config["ATTACHMENT_OVERFLOW"]),
                 incoming=root / ".incoming")


async def purge_trash_periodically(retention_days: int, every: float = 3600, *,
                                   files: Files | None = None,
                                   staged_hours: float = 24) -> None:
    """Delete conversations kept in the trash longer than the retention (their attachments
    with them, and then the originals no attachment names), uploads never sent, expired
    sign-in sessions and sign-in counts quiet for a day, now and hourly."""
    while True:
        try:
            purged = await conversations.purge_trash(retention_days)
            if purged:
                log.info("purged %d conversations from the trash", purged)
            if files is not None:
                await files.collect(staged_hours)
            await sessions.purge_expired()
            await throttle.forget_quiet()
        except Exception:
            log.exception("trash purge failed")
        await asyncio.sleep(every)


async def clean_up_actions_periodically(app: Quart) -> None:
    """Every CHAT_ACTIONS_CLEANUP_INTERVAL: purge the text of messages deleted past their
    undo window, and forget idle event channels. (The quota store bounds its own keys.)"""
    while True:
        await asyncio.sleep(app.config["CHAT_ACTIONS_CLEANUP_INTERVAL"])
        try:
            await message_actions.purge_deleted(app.config["MESSAGE_UNDO_SECONDS"])
            app.extensions["events"].cleanup()
        except Exception:
            log.exception("message actions cleanup failed")
