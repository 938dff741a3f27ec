"""Models: the catalog as JSON (grouped by provider) and the picker's list."""


from quart import Blueprint, current_app, jsonify, render_template

from hyperchat.metering import usage
from hyperchat.metering.catalog import Catalog, CatalogModel
from hyperchat.metering.model_choice import default_of, grouped, matching
from hyperchat.web import payloads
from hyperchat.web.access import get_conversation
from hyperchat.web.errors import json_api
from hyperchat.web.security import current_user

bp = Blueprint("models", __name__)


def catalog() -> Catalog:
    return current_app.extensions["catalog"]


def _price(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def model_json(model: CatalogModel, ttft: dict[str, int]) -> dict:
    return {"id": model.id, "name": model.name, "provider": model.provider,
            "context_length": model.context_length,
            "max_completion_tokens": model.max_completion_tokens,
            # USD per million tokens, as decimal strings (exact); null: unknown or variable.
            "pricing": {"prompt_per_million": _price(model.prompt_per_million),
                        "completion_per_million": _price(model.completion_per_million)},
            "median_ttft_ms": ttft.get(model.id)}


@bp.get("/ai/models")
@json_api
async def index():
    """The models on offer, grouped by provider, with prices and measured latency."""
    models = catalog().models()
    ttft = await usage.median_ttft()
    return jsonify({
        "default_model": current_app.config["DEFAULT_MODEL"],
        "fetched_at": catalog().fetched_at.isoformat() if catalog().fetched_at else None,
        # True: the provider's list could not be loaded; what is listed may be out of date.
        "stale": catalog().stale,
        "providers": [{"provider": provider, "models": [model_json(m, ttft) for m in items]}
                      for provider, items in grouped(models)],
    })


@bp.get("/models/picker")
@payloads.takes_query(q=payloads.Text(), conversation_id=payloads.Id())
async def picker():
    """The picker's list, filtered by `q`: the search box swaps it in as you type."""
    q = payloads.query().get("q", "")[:200]
    conversation_id = payloads.query().get("conversation_id")
    conversation = (await get_conversation(conversation_id, current_user())
                    if conversation_id else None)
    models = matching(catalog().models(), q)
    return await render_template("models/_list.html", groups=grouped(models),
                                 ttft=await usage.median_ttft([m.id for m in models]),
                                 selected=None, q=q, default=default_of(conversation))
