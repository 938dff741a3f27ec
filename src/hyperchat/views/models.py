"""Models: the catalog as JSON (grouped by provider) and the picker's list."""

from decimal import Decimal
from itertools import groupby

from quart import Blueprint, current_app, jsonify, render_template, request

from hyperchat import usage
from hyperchat.access import get_conversation
from hyperchat.catalog import Catalog, CatalogModel
from hyperchat.errors import json_api
from hyperchat.models import Conversation
from hyperchat.security import current_user

bp = Blueprint("models", __name__)


def catalog() -> Catalog:
    return current_app.extensions["catalog"]


def matching(models: list[CatalogModel], q: str) -> list[CatalogModel]:
    """Models whose id, name or provider holds every word of `q` (case-insensitive)."""
    words = q.lower().split()
    return [m for m in models
            if all(w in f"{m.id} {m.name} {m.provider}".lower() for w in words)]


def grouped(models: list[CatalogModel]) -> list[tuple[str, list[CatalogModel]]]:
    return [(provider, list(items)) for provider, items in groupby(models, lambda m: m.provider)]


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
async def picker():
    """The picker's list, filtered by `q`: the search box swaps it in as you type."""
    q = request.args.get("q", "")[:200]
    conversation_id = request.args.get("conversation_id", type=int)
    conversation = (await get_conversation(conversation_id, current_user())
                    if conversation_id else None)
    models = matching(catalog().models(), q)
    return await render_template("models/_list.html", groups=grouped(models),
                                 ttft=await usage.median_ttft([m.id for m in models]),
                                 selected=None, q=q, default=default_of(conversation))


def default_of(conversation: Conversation | None) -> CatalogModel:
    """The model a message without an override gets in this conversation."""
    model_id = (conversation.default_model_id if conversation else None) \
        or current_app.config["DEFAULT_MODEL"]
    return catalog().get(model_id) or CatalogModel(id=model_id, name=model_id,
                                                   provider=model_id.split("/")[0])


def picker_context(conversation: Conversation | None) -> dict:
    """What the composer's picker button and dialog show (a template global); the list
    itself loads when the picker opens."""
    return {"default": default_of(conversation), "stale": catalog().stale}


def format_price(value) -> str:
    """A price per million tokens: 0.15, 0.6, 30 (no float noise, no trailing zeros)."""
    text = format(value.quantize(Decimal("0.0001")).normalize(), "f")
    return text
