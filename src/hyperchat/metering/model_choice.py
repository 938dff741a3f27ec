"""Which model answers: the message's override, else the conversation's default, else the
server's DEFAULT_MODEL. Every id is checked against the catalog first: an unknown one is
refused with a 400 and never sent upstream."""

from decimal import Decimal
from itertools import groupby

from quart import current_app

from hyperchat.metering.catalog import Catalog, CatalogModel
from hyperchat.store.schema import Conversation, Message, Role
from hyperchat.web.errors import BadRequest


def catalog() -> Catalog:
    return current_app.extensions["catalog"]


def known_model(model_id: str | None, *, what: str = "model") -> str | None:
    """`model_id` stripped, None when blank; BadRequest when the catalog does not list it."""
    if model_id is None:
        return None
    if not isinstance(model_id, str):
        raise BadRequest(f"The {what} must be a model id (a string).")
    model_id = model_id.strip()
    if not model_id:
        return None
    if not catalog().knows(model_id):
        hint = (" The provider's model list could not be loaded, so only the default model "
                f"({current_app.config['DEFAULT_MODEL']}) is available right now."
                if catalog().stale and not catalog().fetched_at else
                " Pick one from the model list.")
        raise BadRequest(f"Unknown {what} {model_id[:200]!r}: it is not in this server's "
                         f"model list.{hint}")
    return model_id


def choose(override: str | None, conversation: Conversation | None) -> str:
    """The model for the next reply (the three tiers), checked against the catalog."""
    if override:
        return known_model(override)
    if conversation is not None and conversation.default_model_id:
        return known_model(conversation.default_model_id,
                           what="default model of this conversation")
    return current_app.config["DEFAULT_MODEL"]


async def model_for_retry(reply: Message, conversation: Conversation) -> str:
    """A retried reply answers the same user message, so that message's override holds."""
    query = (Message.filter(id=reply.parent_id) if reply.parent_id else
             Message.filter(conversation_id=conversation.id, role=Role.USER, id__lt=reply.id)
             .order_by("-id"))
    asked = await query.first().values_list("model_override", flat=True)
    return choose(asked, conversation)


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


def matching(models: list[CatalogModel], q: str) -> list[CatalogModel]:
    """Models whose id, name or provider holds every word of `q` (case-insensitive)."""
    words = q.lower().split()
    return [m for m in models
            if all(w in f"{m.id} {m.name} {m.provider}".lower() for w in words)]


def grouped(models: list[CatalogModel]) -> list[tuple[str, list[CatalogModel]]]:
    return [(provider, list(items)) for provider, items in groupby(models, lambda m: m.provider)]
