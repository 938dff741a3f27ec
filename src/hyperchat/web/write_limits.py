"""Limits on every request that writes, in one place: a `before_request` that counts each
POST, PUT, PATCH and DELETE (and the heavy reads named in HEAVY) against the person's and
their address's limits, before any view runs. 429 with Retry-After when one is spent.

These are on top of the limits views already apply to what costs more: sending and the
message actions that start a reply (metering/quotas.py, web/view_helpers.check_limits).
The counts live in the app's quota store: this process's memory, or Redis for all workers.
"""

from quart import Quart, current_app, g, request

from hyperchat.metering import limits
from hyperchat.web.security import UNSAFE_METHODS, current_user

# Heavy requests, with a stricter limit of their own on top of the one on writes: an
# import parses and writes a whole conversation; the full export reads them all.
HEAVY = {
    "sessions_api.import_": "imports",
    "exports.archive": "exports",
}


# The OpenAI-compatible API (/v1): a completion saves nothing but its usage record, and is
# limited as every reply is (metering/quotas.py: per minute, concurrent, budgets), in
# OpenAI's error shape that its clients retry on.
EXEMPT_BLUEPRINTS = {"openai_api"}


def chosen() -> list[limits.Limit]:
    """The limits this request counts against, by its method and endpoint."""
    if request.blueprint in EXEMPT_BLUEPRINTS:
        return []
    config = current_app.config
    window = config["WRITE_RATE_WINDOW"]
    found = []
    if request.method in UNSAFE_METHODS:
        found.append(limits.Limit("changes", config["WRITE_RATE_LIMIT"], window))
    heavy = HEAVY.get(request.endpoint or "")
    if heavy is not None:
        found.append(limits.Limit(heavy, config["HEAVY_RATE_LIMIT"], window))
    return found


def init_app(app: Quart) -> None:
    @app.before_request
    async def limit_writes():
        # No endpoint: nothing matched (a 404 or 405 follows), nothing will be written.
        if request.endpoint is None:
            return
        mine = chosen()
        if not mine:
            return
        store = current_app.extensions["quota_store"]
        config = current_app.config
        # The address first: a fresh cookie must not bring a fresh allowance.
        per_address = [limits.Limit(limit.name, limit.count * config["WRITE_ADDRESS_FACTOR"],
                                    limit.window) for limit in mine]
        await limits.check(store, "", *per_address, address=request.remote_addr or "unknown")
        # Without guest mode, someone not signed in yet (signing up, signing in) is only an
        # address; the view itself then asks them to sign in where it needs to.
        if g.get("identity") is not None:
            await limits.check(store, current_user(), *mine)
