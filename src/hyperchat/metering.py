"""Models and usage, wired into the app: the catalog and its refresher, the usage records
written after every reply, the quota store, and their views."""

import asyncio
import functools
from decimal import Decimal

from quart import Quart

from hyperchat import quotas, usage
from hyperchat.catalog import Catalog
from hyperchat.models import Conversation
from hyperchat.security import current_user
from hyperchat.upstream import demo


def catalog_of(app: Quart) -> Catalog:
    return app.extensions["catalog"]


def init_app(app: Quart) -> None:
    """Register the views and the lifespan hooks; call after the app's own hooks, which
    create the upstream and the generations these build on."""
    from hyperchat.views import models, settings
    from hyperchat.views import usage as usage_views

    for blueprint in (models.bp, settings.bp, usage_views.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["model_picker"] = models.picker_context
    app.jinja_env.filters["price"] = models.format_price
    app.jinja_env.filters["usd"] = usage.format_usd
    app.jinja_env.filters["chart_value"] = chart_value
    app.jinja_env.globals["conversation_usage"] = conversation_usage
    app.jinja_env.globals["composer_quota"] = composer_quota

    @app.before_serving
    async def start_metering() -> None:
        generations = app.extensions["generations"]
        catalog = app.extensions["catalog"] = Catalog(
            generations.upstream, default_model=app.config["DEFAULT_MODEL"],
            offline=app.config["DEFAULT_MODEL"] == demo.MODEL_ID,
            refresh_every=app.config["CATALOG_REFRESH"], retry_every=app.config["CATALOG_RETRY"])
        # In the background: no page waits on the provider's model list.
        app.extensions["catalog_refresher"] = asyncio.create_task(catalog.run(),
                                                                  name="catalog-refresh")
        generations.after_reply = functools.partial(usage.record_reply, catalog=catalog)
        app.extensions["quota_store"] = quotas.store_for(app.config.get("REDIS_URL"))
        app.extensions["quota_starting"] = quotas.Starting()

    @app.teardown_request
    async def release_quota(_exc) -> None:
        quotas.release()

    @app.after_serving
    async def stop_metering() -> None:
        app.extensions["catalog_refresher"].cancel()
        await app.extensions["quota_store"].aclose()


def chart_value(value: float, kind: str) -> str:
    if kind == "usd":
        return usage.format_usd(Decimal(str(round(value, 6))))
    return f"{value:,.0f}"


async def conversation_usage(conversation: Conversation | None) -> usage.Totals:
    """A conversation's running total, for its header (a template global)."""
    if conversation is None:
        return usage.Totals()
    return await usage.totals(conversation.owner, conversation_id=conversation.id)


async def composer_quota() -> quotas.Remaining:
    """What is left before sending, rendered with the composer (a template global): in the
    page itself, so it shows without a request of its own and without JavaScript."""
    return await quotas.remaining(current_user(), full=False)
