"""Usage records and cost: the provider's usage.cost, else catalog pricing; estimated counts;
the dashboard's server-rendered charts and tables; each conversation's running total."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hyperchat.metering import charts, usage
from hyperchat.metering.catalog import Catalog
from hyperchat.store.schema import Conversation, Message, Role, UsageRecord
from hyperchat.upstream.wire import Usage
from tests.fake_upstream import Tokens
from tests.helpers import finished, new_id, send, soup

# The model catalog on: the fake upstream's models.json is what ids are checked against.
pytestmark = pytest.mark.catalog


async def sent(client, content, model=None, conversation_id=None) -> UsageRecord | None:
    """Send `content` (the fake answers with what is queued); return the reply's usage record
    once the reply has ended."""
    fields = {"model": model} if model else {}
    response = await send(client, content, conversation_id, **fields)
    reply_id = new_id(await response.get_data(as_text=True))[-1]
    await finished(reply_id)
    return await UsageRecord.get_or_none(message_id=reply_id)


def test_price_prefers_the_stream_cost_then_the_catalog():
    catalog = Catalog(None, default_model="openai/gpt-4o-mini", offline=True)
    from hyperchat.metering.catalog import parse_models
    from tests.test_catalog import MODELS
    catalog._fetched = {m.id: m for m in parse_models(MODELS)}
    streamed = Usage(10, 20, 30, None, Decimal("0.00042"))
    assert usage.price("openai/gpt-4", 10, 20, streamed, catalog) == (Decimal("0.00042"),
                                                                      "provider")
    no_cost = Usage(1000, 500, 1500, None, None)
    # GPT-4: $0.00003 per prompt token, $0.00006 per completion token.
    assert usage.price("openai/gpt-4", 1000, 500, no_cost, catalog) == (Decimal("0.06"),
                                                                        "catalog")
    assert usage.price("meta-llama/llama-3.3-70b-instruct:free", 9, 9, None, catalog) == (
        Decimal(0), "catalog")
    assert usage.price("openrouter/auto", 9, 9, None, catalog) == (None, None)
    assert usage.price("not/listed", 9, 9, None, catalog) == (None, None)


async def test_one_record_per_reply_with_the_provider_cost(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["Hi", " there"], prompt_tokens=12, cost="0.0000123"))
    record = await sent(client, "hello")
    conversation = await Conversation.get()
    assert (record.owner, record.conversation_id, record.model) == (
        conversation.owner, conversation.id, "openai/gpt-4o-mini")
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (12, 2, 14)
    assert record.cost == Decimal("0.0000123") and record.cost_source == "provider"
    assert record.tokens_estimated is False
    assert await UsageRecord.all().count() == 1


async def test_without_usage_cost_the_catalog_prices_the_reply(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["a"] * 500, prompt_tokens=1000, cost=None))
    record = await sent(client, "hello", model="openai/gpt-4")
    # 1000 x $0.00003 + 500 x $0.00006
    assert record.cost == Decimal("0.06") and record.cost_source == "catalog"


async def test_estimated_counts_are_priced_and_marked(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["x" * 400], usage=False))
    record = await sent(client, "y" * 800, model="openai/gpt-4")
    # ~4 characters per token: 200 prompt, 100 completion.
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (
        200, 100, 300)
    assert record.tokens_estimated is True
    assert record.cost == Decimal("0.012") and record.cost_source == "catalog"


async def test_unknown_price_leaves_the_cost_unknown(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["ok"], cost=None, model="some/unlisted-model"))
    record = await sent(client, "hello", model="openrouter/auto")
    assert record.cost is None and record.cost_source is None
    totals = await usage.totals(record.owner)
    assert totals.cost_incomplete and totals.tokens == record.total_tokens


async def test_a_router_reply_is_priced_by_the_model_that_served_it(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["a"] * 100, prompt_tokens=100, cost=None,
                                 model="openai/gpt-4"))
    record = await sent(client, "hello", model="openrouter/auto")
    # openrouter/auto lists no price; GPT-4 served it: 100 x $0.00003 + 100 x $0.00006.
    assert record.model == "openrouter/auto" and record.cost == Decimal("0.009")


async def test_a_reply_that_used_nothing_has_no_record(client, fake_upstream):
    from tests.fake_upstream import HttpError
    fake_upstream.enqueue(HttpError(500, {"error": {"code": 500, "message": "x"}}))
    assert await sent(client, "hello") is None


async def test_records_survive_deleting_the_conversation_for_good(client, fake_upstream):
    record = await sent(client, "hello")
    await Conversation.filter(id=record.conversation_id).delete()
    kept = await UsageRecord.get(id=record.id)
    assert kept.conversation_id is None
    assert (await usage.totals(kept.owner)).tokens == kept.total_tokens


async def test_median_ttft_per_model(app):
    now = datetime.now(UTC)
    for model, ms in [("a/x", 100), ("a/x", 300), ("a/x", 200), ("b/y", 50)]:
        await UsageRecord.create(owner="o", model=model, ttft_ms=ms, created_at=now)
    await UsageRecord.create(owner="o", model="c/z", ttft_ms=None)
    assert await usage.median_ttft() == {"a/x": 200, "b/y": 50}


def test_stacked_chart_geometry():
    chart = charts.stacked(["d1", "d2"], [{"m1": 30, "m2": 10}, {"m1": 5}], ["m1", "m2"])
    assert [t[1] for t in chart.ticks] == [0, 12.5, 25, 37.5, 50]  # axis top: 50 >= 40
    first, second = chart.bars
    assert [s.model for s in first.segments] == ["m1", "m2"]
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    assert first.segments[0].height == pytest.approx(plot * 30 / 50, abs=0.01)
    # Stacked: m2 sits on top of m1.
    assert first.segments[1].y + first.segments[1].height == pytest.approx(
        first.segments[0].y, abs=0.02)
    assert second.total == 5 and len(second.segments) == 1
    assert charts.stacked(["d"], [{}], []).empty


@pytest.mark.parametrize("value, top", [(0, 1), (0.003, 0.005), (7, 10), (12, 20),
                                        (2400, 2500), (100, 100)])
def test_nice_ceiling(value, top):
    assert charts.nice_ceiling(value) == pytest.approx(top)


async def test_dashboard_plots_tokens_and_cost_per_day_by_model(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["a", "b"], prompt_tokens=10, cost="0.5"),
                          Tokens(["c"], prompt_tokens=20, cost="0.25"))
    first = await sent(client, "one")
    await sent(client, "two", model="openai/gpt-4", conversation_id=first.conversation_id)
    # An older record, two days ago, in another model.
    await UsageRecord.create(owner=first.owner, model="anthropic/claude-sonnet-4.5",
                             prompt_tokens=100, completion_tokens=0, total_tokens=100,
                             cost=Decimal("1"), cost_source="provider")
    await UsageRecord.filter(model="anthropic/claude-sonnet-4.5").update(
        created_at=datetime.now(UTC) - timedelta(days=2))
    response = await client.get("/usage")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    tokens_svg = page.select_one("#tokens-title").find_parent("section").select_one("svg")
    rects = tokens_svg.select("rect[data-model]")
    assert sorted(r["data-model"] for r in rects) == [
        "anthropic/claude-sonnet-4.5", "openai/gpt-4", "openai/gpt-4o-mini"]
    assert len(tokens_svg.select("g.chart-bar")) == 30  # one bar per day
    assert page.select_one("#usage-total-tokens").get_text() == "133"
    assert page.select_one("#usage-total-cost").get_text() == "$1.75"
    assert page.select_one("#usage-today-cost").get_text() == "$0.75"
    top = [tr.select_one("th").get_text() for tr in page.select("#top-models tbody tr")]
    assert top == ["anthropic/claude-sonnet-4.5", "openai/gpt-4", "openai/gpt-4o-mini"]
    rows = page.select("#usage-conversations tbody tr")
    assert rows[0].select_one("th").get_text(strip=True) == "deleted conversations"
    assert rows[1].select_one("a").get_text() == "one"
    assert rows[1].select("td")[1].get_text() == "33"
    # The same figures as JSON.
    body = await (await client.get("/usage", headers={"Accept": "application/json"})).get_json()
    assert body["total"]["tokens"] == 133 and Decimal(body["total"]["cost"]) == Decimal("1.75")
    assert sum(d["tokens"] for d in body["days"]) == 133


async def test_dashboard_is_only_the_persons_own(app, client, fake_upstream):
    await sent(client, "mine")
    stranger = app.test_client()
    page = soup(await (await stranger.get("/usage")).get_data(as_text=True))
    assert page.select_one("#usage-total-tokens").get_text() == "0"
    assert page.select("#top-models") == []


async def test_conversation_header_shows_its_running_total(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["a"], prompt_tokens=9, cost="0.02"),
                          Tokens(["b"], prompt_tokens=9, cost="0.03"))
    first = await sent(client, "one")
    second = await sent(client, "two", conversation_id=first.conversation_id)
    page = soup(await (await client.get(f"/c/{first.conversation_id}")).get_data(as_text=True))
    total = page.select_one("#conversation-usage .usage-total").get_text(" ", strip=True)
    assert total == "20 tokens · $0.05"
    # The reply's last frame refreshes it out of band.
    raw = await (await client.get(f"/messages/{second.message_id}/stream")).get_data(
        as_text=True)
    from tests.helpers import final_frame, parse_sse
    final = soup(final_frame(parse_sse(raw)))
    oob = final.select_one("#conversation-usage")
    assert oob["hx-swap-oob"] == "true"
    assert oob.select_one(".usage-total").get_text(" ", strip=True) == "20 tokens · $0.05"


@pytest.mark.parametrize("value, text", [
    (None, "unknown"), (Decimal(0), "$0"), (Decimal("1234.5"), "$1,234.50"),
    (Decimal("0.05"), "$0.05"), (Decimal("0.0123"), "$0.0123"), (Decimal("0.0000123"),
                                                                 "$0.000012"),
    (Decimal("0.0000001"), "<$0.000001")])
def test_format_usd(value, text):
    assert usage.format_usd(value) == text


async def test_a_continued_reply_adds_its_second_call_to_the_record(app):
    conversation = await Conversation.create(owner="o")
    reply = await Message.create(conversation=conversation, role=Role.ASSISTANT)
    first = await usage.record_reply(
        reply, "openai/gpt-4", Usage(100, 10, 110, None, Decimal("0.01")),
        {"prompt_tokens": 100, "completion_tokens": 10, "tokens_estimated": False},
        catalog=None)
    assert (first.total_tokens, first.cost) == (110, Decimal("0.01"))
    # The second call: a new prompt, and the reply's completion count now covers both.
    again = await usage.record_reply(
        reply, "openai/gpt-4", Usage(120, 5, 125, None, Decimal("0.02")),
        {"prompt_tokens": 120, "completion_tokens": 15, "tokens_estimated": False},
        catalog=None)
    assert again.id == first.id
    assert (again.prompt_tokens, again.completion_tokens, again.total_tokens, again.cost) == (
        220, 15, 235, Decimal("0.03"))
    assert await UsageRecord.all().count() == 1
