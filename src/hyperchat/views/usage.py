"""Usage: the dashboard, the composer's remaining quota, and the person's own budget."""

from decimal import Decimal, InvalidOperation

from quart import Blueprint, jsonify, redirect, render_template, url_for

from hyperchat.metering import charts, quotas, usage
from hyperchat.store.schema import Budget
from hyperchat.web import htmx, payloads
from hyperchat.web.errors import BadRequest, wants_json
from hyperchat.web.security import current_user

bp = Blueprint("usage", __name__)

COST_STEP = Decimal("0.0000000001")  # Budget.daily_cost has 10 decimal places


async def dashboard_context(error: str | None = None) -> dict:
    person = current_user()
    board = await usage.dashboard(person)
    labels = [d.day.strftime("%b %d") for d in board.days]
    return {
        "board": board,
        "tokens_chart": charts.stacked(labels, [d.tokens_by_model for d in board.days],
                                       board.models),
        "cost_chart": charts.stacked(labels, [d.cost_by_model for d in board.days],
                                     board.models),
        "remaining": await quotas.remaining(person),
        "budget": await Budget.get_or_none(owner=person),
        "error": error,
    }


@bp.get("/usage")
async def show():
    """Tokens and cost per day by model, per conversation, top models; the budget form."""
    if wants_json():
        board = await usage.dashboard(current_user())
        return jsonify({
            "days": [{"day": d.day.isoformat(), "tokens": d.tokens, "cost": str(d.cost),
                      "by_model": {m: {"tokens": t, "cost": str(d.cost_by_model.get(m, 0))}
                                   for m, t in d.tokens_by_model.items()}} for d in board.days],
            "top_models": [{**m, "cost": str(m["cost"])} for m in board.top_models],
            "conversations": [{**c, "cost": str(c["cost"])} for c in board.conversations],
            "total": {"tokens": board.total.tokens, "cost": str(board.total.cost)},
            "today": {"tokens": board.today.tokens, "cost": str(board.today.cost)},
        })
    response_body = await render_template("usage/show.html", **await dashboard_context())
    return response_body, 200, {"Vary": "Accept"}


@bp.get("/usage/quota")
async def quota():
    """What is left before sending: requests this minute, replies running, today's budget."""
    return await render_template("usage/_quota.html",
                                 remaining=await quotas.remaining(current_user()))


def _budget_value(raw: str | None, kind):
    raw = (raw or "").strip().lstrip("$").replace(",", "")
    if not raw:
        return None
    try:
        value = kind(raw)
    except (ValueError, InvalidOperation):
        value = None
    if kind is Decimal and value is not None and not value.is_finite():
        value = None  # NaN and Infinity parse, and compare only to raise
    if value is None or not value > 0:
        raise BadRequest("A budget must be a positive number (or empty for none).")
    if kind is int and value > 2_000_000_000:
        raise BadRequest("That token budget is too large.")
    if kind is Decimal and value > Decimal("1000000"):
        raise BadRequest("That cost budget is too large.")
    if kind is Decimal:
        # Kept to the column's 10 decimal places: 1E-999999999 would be saved as 0, which
        # means "no budget", the opposite of what was asked.
        value = value.quantize(COST_STEP)
        if not value > 0:
            raise BadRequest(f"A cost budget must be at least ${COST_STEP:f}.")
    return value


@bp.post("/usage/budget")
@payloads.takes_body(daily_tokens=payloads.Text(40), daily_cost=payloads.Text(40))
async def set_budget():
    """Set (or clear, when empty) your own daily token and cost budgets."""
    form = payloads.body()
    try:
        tokens = _budget_value(form.get("daily_tokens"), int)
        cost = _budget_value(form.get("daily_cost"), Decimal)
    except BadRequest as error:
        if wants_json():
            raise
        body = await render_template("usage/show.html",
                                     **await dashboard_context(error=error.message))
        return body, 400
    await Budget.update_or_create(owner=current_user(),
                                  defaults={"daily_tokens": tokens, "daily_cost": cost})
    if htmx.is_request() or not wants_json():
        return redirect(url_for("usage.show"), 303)
    return jsonify({"daily_tokens": tokens, "daily_cost": None if cost is None else str(cost)})
