"""Health check for load balancers and monitoring: 200 while the database answers."""

import asyncio
import logging
from importlib import metadata

from quart import Blueprint, current_app, jsonify
from tortoise import connections

from hyperchat import config as configuration
from hyperchat.chat.exports import iso
from hyperchat.web.errors import json_api

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 2.0  # seconds; override with the HEALTH_DATABASE_TIMEOUT setting


def version() -> str:
    try:
        return metadata.version("hyperchat")
    except metadata.PackageNotFoundError:
        return "unknown"


async def ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def database_status() -> dict:
    timeout = current_app.config.get("HEALTH_DATABASE_TIMEOUT", DATABASE_TIMEOUT)
    try:
        await asyncio.wait_for(ping_database(), timeout)
    except TimeoutError:
        return {"ok": False, "error": f"The database did not answer within {timeout:g} s."}
    except Exception as exc:
        # The details (hosts, paths) go to the log, not to an unauthenticated caller.
        log.warning("health check: database failed", exc_info=True)
        return {"ok": False, "error": f"The database query failed ({type(exc).__name__})."}
    return {"ok": True}


def upstream_status() -> dict:
    config = current_app.config
    upstream = current_app.extensions["generations"].upstream
    base_url = config["OPENROUTER_BASE_URL"]
    return {
        "configured": bool(config["OPENROUTER_API_KEY"]) or config["DEMO_MODE"]
        or base_url.rstrip("/") != configuration.DEFAULT_BASE_URL,
        "demo": config["DEMO_MODE"],
        "baseUrl": base_url,
        "lastStatus": upstream.last_status,
        "lastSeen": iso(upstream.last_seen),
    }


@bp.get("/health")
@bp.get("/api/v1/chat/health")  # the chat API's health check: the same one
@json_api
async def show():
    """Report the database, the upstream and the version; 503 if the database is down."""
    database = await database_status()
    body = {
        "status": "ok" if database["ok"] else "degraded",
        "database": database,
        "upstream": upstream_status(),
        "version": version(),
    }
    return jsonify(body), 200 if database["ok"] else 503, {"Cache-Control": "no-store"}
