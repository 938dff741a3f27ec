"""`python -m hyperchat`: migrate, then serve on HOST:PORT (default 127.0.0.1:5000), in one
process, or in WORKERS processes sharing the port (which needs REDIS_URL and PostgreSQL)."""

import asyncio
import os
import signal
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.run import run

try:
    import uvloop
except ImportError:  # Windows
    uvloop = None

from hyperchat import create_app
from hyperchat.config import ConfigError
from hyperchat.live.redis_backed import RedisUnavailable, check, connect
from hyperchat.store import database as db

# What each worker process serves (hypercorn evaluates the part after the colon in this
# module; a colon inside it would be read as hypercorn's asgi/wsgi mode).
WORKER_APP = "hyperchat.__main__:worker_app()"


def worker_app():
    """A worker's app: the parent has migrated already."""
    return create_app({"RUN_MIGRATIONS": False})


def workers() -> int:
    value = os.environ.get("WORKERS") or "1"
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"WORKERS={value!r} is not a number of processes (1 or more).")
    return int(value)


def refuse_unsafe(count: int, app_config: dict) -> None:
    """Several workers share live replies through Redis, and their data through a database
    that takes concurrent writers."""
    if count == 1:
        return
    if not app_config.get("REDIS_URL"):
        raise ConfigError(f"WORKERS={count} needs REDIS_URL: the workers share live replies, "
                          "stop requests and action events through Redis.")
    # Refused rather than made to work with a BEGIN IMMEDIATE engine: SQLite is one file on
    # one machine, while several workers are the way to several machines; and with
    # tortoise's plain BEGIN, concurrent read-then-write transactions fail at once with
    # "database is locked" (shared/notes/tortoise-aerich-quart.md).
    if db.dialect(app_config["DATABASE_URL"]) == "sqlite":
        raise ConfigError(f"use PostgreSQL with WORKERS > 1 (WORKERS={count}, and "
                          "DATABASE_URL is SQLite).")


async def check_redis(url: str | None) -> None:
    if url:
        client = connect(url)
        try:
            await check(client, url)
        finally:
            await client.aclose()


def config_for(count: int) -> Config:
    config = Config()
    config.bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"]
    config.accesslog = "-" if os.environ.get("ACCESS_LOG") else None
    config.graceful_timeout = 3
    config.workers = count
    return config


async def main(app) -> None:
    """One process (the default): the live reply buffers in memory, or in Redis."""
    await check_redis(app.config.get("REDIS_URL"))
    config = config_for(1)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"hyperchat on http://{config.bind[0]}  (model: {app.config['DEFAULT_MODEL']})",
          flush=True)
    await serve(app, config, shutdown_trigger=stop.wait)


def serve_workers(count: int, app_config: dict) -> int:
    """Migrate once here, then let hypercorn fork `count` uvloop workers on one socket."""
    async def prepare() -> None:
        await check_redis(app_config["REDIS_URL"])
        await db.migrate(app_config["DATABASE_URL"])

    asyncio.run(prepare())
    config = config_for(count)
    config.worker_class = "asyncio" if uvloop is None else "uvloop"
    config.application_path = WORKER_APP
    print(f"hyperchat on http://{config.bind[0]}  ({count} workers, model: "
          f"{app_config['DEFAULT_MODEL']})", flush=True)
    return run(config)


def start() -> None:
    try:
        count = workers()
        app = create_app()  # validates the settings, makes the secret key the workers read
        refuse_unsafe(count, app.config)
        if count > 1:
            sys.exit(serve_workers(count, app.config))
        # uvloop: the same asyncio API at about 20 % less CPU per streamed reply (make bench).
        if uvloop is None:
            asyncio.run(main(app))
        else:
            uvloop.run(main(app))
    except (ConfigError, RedisUnavailable) as error:
        sys.exit(f"hyperchat: {error}")


if __name__ == "__main__":
    start()
