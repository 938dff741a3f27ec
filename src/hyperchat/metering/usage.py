"""Usage records: what each reply used and cost, and the sums the dashboard and budgets read.

Cost is the stream's `usage.cost` when the provider sent one (OpenRouter does), else the
tokens times the catalog's prices; unknown when neither is available. Token counts are the
provider's, or our ~4 characters per token estimate when it sent none (marked estimated).
"""

import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Sum

from hyperchat.metering.catalog import Catalog
from hyperchat.store.database import placeholder
from hyperchat.store.schema import Conversation, Message, UsageRecord
from hyperchat.upstream.wire import Usage

log = logging.getLogger(__name__)

PROVIDER, CATALOG = "provider", "catalog"
# How many recent replies of a model its median time to first token is taken over.
TTFT_SAMPLE = 50


def price(model: str, prompt_tokens: int, completion_tokens: int, usage: Usage | None,
          catalog: Catalog | None) -> tuple[Decimal | None, str | None]:
    """(cost in USD, where it came from) for one reply."""
    if usage is not None and usage.cost is not None and usage.cost >= 0:
        return usage.cost, PROVIDER
    listed = catalog.get(model) if catalog is not None else None
    if listed is not None:
        cost = listed.cost(prompt_tokens, completion_tokens)
        if cost is not None:
            return cost, CATALOG
    return None, None


async def record_reply(message: Message, requested_model: str, usage: Usage | None,
                       saved: dict, *, catalog: Catalog | None) -> UsageRecord | None:
    """Write the usage record of a reply from the fields about to be saved on it (counts,
    served model, timings). Nothing is written when the reply used nothing: no text and no
    usage. A reply continued later (one more upstream call on the same message) adds that
    call to its record; its saved completion count is cumulative."""
    prompt, completion = saved.get("prompt_tokens"), saved.get("completion_tokens")
    if prompt is None and completion is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    estimated = bool(saved.get("tokens_estimated"))
    # Kept under the model the person chose (a catalog id, which the picker's timings and
    # prices use); the reply's metadata shows the model that actually served it.
    model = requested_model
    # The person who asked for the reply pays (its author); rows from before rooms had
    # several people have none: the conversation's owner asked.
    owner = message.author or await Conversation.filter(
        id=message.conversation_id).first().values_list("owner", flat=True)
    if owner is not None:
        cost, source, total = _call(model, prompt, completion, usage, saved, catalog)
        if usage is not None and not estimated and usage.total_tokens:
            total = usage.total_tokens
        try:
            # A reply's first call, nearly always: one statement.
            return await UsageRecord.create(
                message_id=message.id, owner=owner, conversation_id=message.conversation_id,
                model=model, prompt_tokens=prompt, completion_tokens=completion,
                total_tokens=total, cost=cost, cost_source=source, tokens_estimated=estimated,
                ttft_ms=saved.get("ttft_ms"), client_address=message.client_address)
        except IntegrityError:
            # Its record exists already (message_id is unique), or its conversation is gone.
            pass
    # A continued reply: its record holds the calls before this one.
    existing = await UsageRecord.get_or_none(message_id=message.id)
    if existing is None:
        return None
    completion = max(0, completion - existing.completion_tokens)
    cost, _, total = _call(model, prompt, completion, usage, saved, catalog)
    existing.prompt_tokens += prompt
    existing.completion_tokens += completion
    existing.total_tokens += total
    existing.cost = None if existing.cost is None or cost is None else existing.cost + cost
    existing.tokens_estimated = existing.tokens_estimated or estimated
    await existing.save()
    return existing


def _call(model: str, prompt: int, completion: int, usage: Usage | None, saved: dict,
          catalog: Catalog | None) -> tuple[Decimal | None, str | None, int]:
    """(cost, where it came from, tokens) of one upstream call of a reply."""
    cost, source = price(model, prompt, completion, usage, catalog)
    served = saved.get("model_id_used")
    if cost is None and served and served != model:
        cost, source = price(served, prompt, completion, None, catalog)
    return cost, source, prompt + completion


# --------------------------------------------------------------------------- reading


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of `moment`'s day: budgets count UTC days, the same for everyone, so
    that a time zone cookie cannot move the reset."""
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Totals:
    tokens: int = 0
    cost: Decimal = Decimal(0)
    replies: int = 0
    # Some replies' cost is unknown (no usage.cost, no price): the cost is a lower bound.
    cost_incomplete: bool = False
    estimated: bool = False


def _dec(value) -> Decimal:
    # SQLite stores decimals as text and sums them as floats: go through str().
    return Decimal(str(value)) if value is not None else Decimal(0)


async def address_totals(address: str, *, since: datetime) -> Totals:
    """What the replies asked for from one address used since `since` (the per-address
    budget: a fresh cookie must not bring a fresh budget)."""
    return await _totals("client_address", address, since=since)


async def totals(owner: str, *, since: datetime | None = None,
                 conversation_id: int | None = None, detail: bool = False) -> Totals:
    """One query (pages show these); `detail` adds whether any count is an estimate."""
    return await _totals("owner", owner, since=since, conversation_id=conversation_id,
                         detail=detail)


async def _totals(column: str, value: str, *, since: datetime | None = None,
                  conversation_id: int | None = None, detail: bool = False) -> Totals:
    # By hand (store/database.py:placeholder): the last frame of every reply shows its
    # conversation's total.
    conditions = {column: value, "created_at >=": since, "conversation_id": conversation_id}
    where, params = _where({k: v for k, v in conditions.items() if v is not None})
    db = connections.get("default")
    # COUNT(cost) counts the known costs: fewer than the replies means some are unknown.
    # (SQLite keeps decimals as text: the CAST sums them as numbers, as the ORM does.)
    row = (await db.execute_query_dict(
        "SELECT SUM(total_tokens) AS tokens, SUM(CAST(cost AS NUMERIC)) AS cost_sum, "
        f"COUNT(*) AS replies, COUNT(cost) AS costed FROM usage_record WHERE {where}",
        params))[0]
    result = Totals(tokens=int(row["tokens"] or 0), cost=_dec(row["cost_sum"]),
                    replies=int(row["replies"] or 0))
    result.cost_incomplete = int(row["costed"] or 0) < result.replies
    if detail and result.replies:
        where, params = _where({k: v for k, v in {**conditions, "tokens_estimated": True}
                                .items() if v is not None})
        result.estimated = bool(await db.execute_query_dict(
            f"SELECT 1 FROM usage_record WHERE {where} LIMIT 1", params))
    return result


def _where(conditions: dict) -> tuple[str, list]:
    """`conditions` ({"column": value, "column >=": value}) as a WHERE clause and its
    parameters."""
    clauses = []
    for i, key in enumerate(conditions, start=1):
        column, _, operator = key.partition(" ")
        clauses.append(f"{column} {operator or '='} {placeholder(i)}")
    return " AND ".join(clauses), list(conditions.values())


@dataclass
class Day:
    day: date
    tokens_by_model: dict[str, int] = field(default_factory=dict)
    cost_by_model: dict[str, Decimal] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return sum(self.tokens_by_model.values())

    @property
    def cost(self) -> Decimal:
        return sum(self.cost_by_model.values(), Decimal(0))


@dataclass
class Dashboard:
    days: list[Day]
    models: list[str]  # stacking order: most tokens first
    top_models: list[dict]
    conversations: list[dict]
    total: Totals
    today: Totals


async def dashboard(owner: str, *, days: int = 30, now: datetime | None = None) -> Dashboard:
    """Tokens and cost per UTC day and model over the last `days` days, the top models and
    the totals per conversation (all time)."""
    now = now or datetime.now(UTC)
    first = day_start(now) - timedelta(days=days - 1)
    rows = await UsageRecord.filter(owner=owner, created_at__gte=first).values(
        "created_at", "model", "total_tokens", "cost")
    by_day = {(first + timedelta(days=i)).date(): Day((first + timedelta(days=i)).date())
              for i in range(days)}
    model_tokens: dict[str, int] = defaultdict(int)
    for row in rows:
        day = by_day.get(row["created_at"].astimezone(UTC).date())
        if day is None:
            continue
        model = row["model"]
        day.tokens_by_model[model] = day.tokens_by_model.get(model, 0) + row["total_tokens"]
        day.cost_by_model[model] = day.cost_by_model.get(model, Decimal(0)) + _dec(row["cost"])
        model_tokens[model] += row["total_tokens"]
    models = sorted(model_tokens, key=lambda m: (-model_tokens[m], m))

    top = await (UsageRecord.filter(owner=owner)
                 .annotate(tokens=Sum("total_tokens"), cost_sum=Sum("cost"), replies=Count("id"))
                 .group_by("model").order_by("-tokens").limit(10)
                 .values("model", "tokens", "cost_sum", "replies"))
    top_models = [{"model": r["model"], "tokens": int(r["tokens"] or 0),
                   "cost": _dec(r["cost_sum"]), "replies": int(r["replies"])} for r in top]

    per_conversation = await (
        UsageRecord.filter(owner=owner)
        .annotate(tokens=Sum("total_tokens"), cost_sum=Sum("cost"), replies=Count("id"))
        .group_by("conversation_id").order_by("-tokens").limit(50)
        .values("conversation_id", "tokens", "cost_sum", "replies"))
    ids = [r["conversation_id"] for r in per_conversation if r["conversation_id"] is not None]
    titles = dict(await Conversation.filter(id__in=ids, owner=owner)
                  .values_list("id", "title")) if ids else {}
    conversations = [{"id": r["conversation_id"],
                      "title": titles.get(r["conversation_id"]) if r["conversation_id"] else None,
                      "tokens": int(r["tokens"] or 0), "cost": _dec(r["cost_sum"]),
                      "replies": int(r["replies"])} for r in per_conversation]
    return Dashboard(days=list(by_day.values()), models=models, top_models=top_models,
                     conversations=conversations, total=await totals(owner, detail=True),
                     today=await totals(owner, since=day_start(now)))


async def median_ttft(model_ids: list[str] | None = None) -> dict[str, int]:
    """Median time to first token (ms) this server measured per model, over each model's
    latest TTFT_SAMPLE replies. Server-wide: it describes the model, not the person."""
    query = UsageRecord.filter(ttft_ms__isnull=False)
    if model_ids is not None:
        query = query.filter(model__in=model_ids)
    rows = await query.order_by("-id").limit(5000).values_list("model", "ttft_ms")
    samples: dict[str, list[int]] = defaultdict(list)
    for model, ttft in rows:
        if len(samples[model]) < TTFT_SAMPLE:
            samples[model].append(ttft)
    return {model: round(statistics.median(values)) for model, values in samples.items()}


def format_usd(value: Decimal | None) -> str:
    """Dollars for people: cents once it is worth it, else enough digits to see a cost."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= Decimal("0.01"):
        return f"${value:.4f}".rstrip("0")
    return f"${value:.6f}".rstrip("0").rstrip(".") if abs(value) >= Decimal("0.000001") \
        else "<$0.000001"
