"""Limits on starting replies: requests per minute (memory and a real Redis), concurrent
replies, daily budgets; 429 with Retry-After and a visible message; the remaining quota."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from hyperchat.metering import quotas
from hyperchat.store.schema import Budget, Conversation, Message, Role, Status, UsageRecord
from tests.fake_upstream import Stall, Tokens
from tests.helpers import Clock, CsrfClient, csrf, owner_of, soup

pytestmark = pytest.mark.config(RATE_LIMIT_PER_MINUTE=3, CONCURRENT_GENERATIONS=2)


@pytest.fixture(params=["memory", "redis"])
def app_config(app_config, request):
    """Every app here on both quota stores: in memory, and in a real Redis."""
    if request.param == "memory":
        return app_config
    return {**app_config, "REDIS_URL": request.getfixturevalue("redis_url")}


@pytest.fixture
async def app(app):
    """The app, its Redis quota store (shared by the session's tests) emptied first."""
    store = app.app.extensions["quota_store"]
    if isinstance(store, quotas.RedisQuotaStore):
        await store.redis.flushdb()
    return app


async def post(client, token, content="hi", headers=None):
    return await client.post("/messages", form={"content": content, "csrf_token": token},
                             headers={"HX-Request": "true", **(headers or {})})


async def settle(client):
    """Wait for every reply's task, including its usage record, written after its status."""
    for reply in await Message.filter(role=Role.ASSISTANT):
        await client.app.extensions["generations"].wait(reply.id)


async def test_memory_store_slides_its_window():
    clock = Clock()
    store = quotas.MemoryQuotaStore(clock=clock)
    assert [await store.hit("k", 2, 60) for _ in range(2)] == [0, 0]
    clock.now += 10
    assert await store.hit("k", 2, 60) == pytest.approx(50)  # the first leaves at 1060
    assert await store.used("k", 60) == (2, pytest.approx(50))
    clock.now += 50
    assert await store.hit("k", 2, 60) == 0  # refused hits were not counted
    assert (await store.used("other", 60)) == (0, 0)


async def test_redis_store_counts_atomically_and_expires(redis_url):
    store = quotas.RedisQuotaStore(redis_url, prefix="t:")
    try:
        await store.redis.delete("t:k")
        assert [await store.hit("k", 2, 0.5) for _ in range(2)] == [0, 0]
        wait = await store.hit("k", 2, 0.5)
        assert 0 < wait <= 0.5
        count, refill = await store.used("k", 0.5)
        assert count == 2 and 0 < refill <= 0.5
        assert await store.redis.pttl("t:k") > 0  # keys expire: nothing piles up
        import asyncio
        await asyncio.sleep(wait + 0.05)
        assert await store.hit("k", 2, 0.5) == 0
    finally:
        await store.aclose()


async def test_requests_per_minute_then_429_with_retry_after(client, fake_upstream):
    token = await csrf(client)
    for _ in range(3):
        assert (await post(client, token)).status_code == 200
        await settle(client)
    refused = await post(client, token, "one too many")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    alert = soup(await refused.get_data(as_text=True)).get_text(" ", strip=True)
    assert "Too many messages: at most 3 per minute" in alert and "your text is kept" in alert
    assert await Message.filter(content="one too many").count() == 0
    assert len(fake_upstream.requests) == 3


async def test_json_api_shares_the_same_limit(client):
    token = await csrf(client)
    for _ in range(3):
        await post(client, token)
        await settle(client)
    response = await CsrfClient(client).post("/messages", json={"content": "api"})
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "at most 3 per minute" in (await response.get_json())["error"]


@pytest.mark.config(RATE_LIMIT_PER_ADDRESS_PER_MINUTE=2)
async def test_a_spoofed_x_forwarded_for_does_not_escape_the_address_limit(app):
    statuses = []
    for i in range(3):  # a new session each time (cleared cookies), a new forged address
        client = app.test_client()
        token = await csrf(client)
        response = await post(client, token, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        statuses.append(response.status_code)
        await settle(client)
    assert statuses == [200, 200, 429]


async def test_concurrent_replies_are_limited(client, fake_upstream):
    fake_upstream.default = Stall(seconds=30)
    token = await csrf(client)
    assert (await post(client, token)).status_code == 200
    assert (await post(client, token)).status_code == 200
    refused = await post(client, token)
    assert refused.status_code == 429
    assert "already have 2 replies being written" in await refused.get_data(as_text=True)
    for reply in await Message.filter(role=Role.ASSISTANT, status=Status.STREAMING):
        await client.app.extensions["generations"].stop(reply.id)
    await settle(client)
    fake_upstream.default = Tokens(["ok"])
    assert (await post(client, token)).status_code == 200


async def test_budget_spent_refuses_sending_and_says_when_it_resets(client, fake_upstream):
    token = await csrf(client)
    response = await client.post("/usage/budget", form={"csrf_token": token,
                                                       "daily_tokens": "20"})
    assert response.status_code == 303
    await post(client, token)  # 11 prompt + 3 completion = 14 tokens: under 20
    await settle(client)
    await post(client, token)  # 28: over, but it was allowed to start
    await settle(client)
    refused = await post(client, token, "third")
    assert refused.status_code == 429
    text = soup(await refused.get_data(as_text=True)).get_text(" ", strip=True)
    assert "Today's budget is spent (28 of your 20 tokens" in text
    assert re.search(r"resets at midnight UTC \(\d{4}-\d\d-\d\d 00:00 UTC\), in ", text)
    seconds = int(refused.headers["Retry-After"])
    now = datetime.now(UTC)
    assert abs(seconds - (quotas.next_reset(now) - now).total_seconds()) < 5
    quota = soup(await (await client.get("/usage/quota")).get_data(as_text=True))
    assert "Today's budget is spent" in quota.get_text()


@pytest.mark.config(DAILY_COST_BUDGET="0.01")
async def test_server_cost_budget_applies_when_the_persons_own_is_looser(client):
    token = await csrf(client)
    await client.post("/usage/budget", form={"csrf_token": token, "daily_cost": "5"})
    person = await owner_of(client)
    await UsageRecord.create(owner=person, model="m", total_tokens=1, cost=Decimal("0.02"))
    refused = await post(client, token)
    assert refused.status_code == 429
    assert "$0.0200 of your $0.01" in await refused.get_data(as_text=True)
    # Yesterday's spending does not count.
    await UsageRecord.all().update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert (await post(client, token)).status_code == 200


@pytest.mark.parametrize("field, value", [("daily_tokens", "-5"), ("daily_tokens", "abc"),
                                          ("daily_cost", "0"), ("daily_cost", "NaN"),
                                          ("daily_tokens", "1.5")])
async def test_bad_budget_is_refused_and_nothing_saved(client, field, value):
    token = await csrf(client)
    response = await client.post("/usage/budget", form={"csrf_token": token, field: value})
    assert response.status_code == 400
    assert "positive number" in soup(await response.get_data(as_text=True)).select_one(
        ".form-error").get_text()
    assert await Budget.all().count() == 0


async def test_remaining_quota_is_shown_before_sending(client):
    token = await csrf(client)
    page = soup(await (await client.get("/")).get_data(as_text=True))
    slot = page.select_one("#composer #quota")
    assert slot.get_text(" ", strip=True).startswith("3/3 messages left this minute")
    # It refreshes itself after each send.
    assert slot["hx-get"] == "/usage/quota" and "conversations-changed" in slot["hx-trigger"]
    await post(client, token)
    await settle(client)
    await client.post("/usage/budget", form={"csrf_token": token, "daily_tokens": "1000"})
    quota = soup(await (await client.get("/usage/quota")).get_data(as_text=True))
    text = quota.select_one("#quota").get_text(" ", strip=True)
    assert text.startswith("2/3 messages left this minute · 986 tokens left today")


async def test_with_ai_off_sends_are_not_counted(client):
    token = await csrf(client)
    await post(client, token)
    await settle(client)
    conversation = await Conversation.get()
    await Conversation.filter(id=conversation.id).update(with_ai=False)
    for _ in range(5):
        response = await client.post("/messages", form={
            "content": "note", "csrf_token": token, "conversation_id": str(conversation.id)},
            headers={"HX-Request": "true"})
        assert response.status_code == 200


@pytest.mark.config(CONCURRENT_GENERATIONS=1)
async def test_two_sends_at_once_cannot_both_take_the_last_slot(app, client, fake_upstream):
    import asyncio
    fake_upstream.default = Stall(seconds=30)
    token = await csrf(client)
    responses = await asyncio.gather(post(client, token, "a"), post(client, token, "b"))
    assert sorted(r.status_code for r in responses) == [200, 429]
    assert app.app.extensions["quota_starting"].counts == {}  # every request released its own
    for reply in await Message.filter(role=Role.ASSISTANT, status=Status.STREAMING):
        await client.app.extensions["generations"].stop(reply.id)
    await settle(client)


async def test_budget_and_running_in_one_query_agree_with_the_orm(app):
    """The send path's single query returns what Budget and running() would, on each DB."""
    async with app.app.app_context():
        assert await quotas.budget_and_running("alice", "192.0.2.1") == (None, 0, 0)
        mine = await Conversation.create(owner="alice", title="a")
        theirs = await Conversation.create(owner="bob", title="b")
        here, there = "192.0.2.1", "192.0.2.2"
        for conversation, role, status, address in [
                (mine, Role.ASSISTANT, Status.STREAMING, here),
                (mine, Role.ASSISTANT, Status.STREAMING, there),
                (mine, Role.ASSISTANT, Status.COMPLETE, here),
                (mine, Role.USER, Status.STREAMING, here),
                (theirs, Role.ASSISTANT, Status.STREAMING, here)]:
            await Message.create(conversation=conversation, role=role, status=status,
                                 content="", client_address=address)
        await Budget.create(owner="alice", daily_tokens=None, daily_cost=Decimal("0.25"))
        own, streaming, by_address = await quotas.budget_and_running("alice", here)
        assert streaming == 2 == await quotas.running("alice")
        assert by_address == 2  # alice's first reply and bob's
        assert (own.daily_tokens, own.daily_cost) == (None, Decimal("0.25"))
        assert quotas._limits(own) == await quotas.limits_for("alice")
        await Budget.create(owner="bob", daily_tokens=1000)
        own, streaming, by_address = await quotas.budget_and_running("bob", there)
        assert (own.daily_tokens, own.daily_cost, streaming, by_address) == (1000, None, 1, 1)
