"""Every request that writes is limited, per person and per address, by one mechanism
(web/write_limits.py): votes, stop, share, rename, archive, import, budget... and the heavy reads
(the full export). Routes are taken from the URL map, so a new one is covered by itself."""

import asyncio
import re

import pytest

from hyperchat import create_app
from hyperchat.metering import quotas
from hyperchat.store.schema import ActionLog, Conversation
from hyperchat.web.security import UNSAFE_METHODS
from hyperchat.web.write_limits import EXEMPT_BLUEPRINTS, HEAVY
from tests.helpers import body_csrf, csrf, exchange, soup


@pytest.fixture(params=["memory", "redis"])
def store_kind(request):
    return request.param


@pytest.fixture
def limited_config(app_config, store_kind, request):
    config = {**app_config, "WRITE_RATE_LIMIT": 3, "HEAVY_RATE_LIMIT": 2,
              "WRITE_ADDRESS_FACTOR": 2}
    if store_kind == "redis":
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
    return config


async def started(config):
    app = create_app(config)
    test_app = app.test_app()
    await test_app.__aenter__()
    store = app.extensions["quota_store"]
    if isinstance(store, quotas.RedisQuotaStore):
        await store.redis.flushdb()
    return test_app


@pytest.fixture
async def app(limited_config):
    test_app = await started(limited_config)
    yield test_app
    await test_app.__aexit__(None, None, None)


def limited_routes(app, *, with_limit=False):
    """(method, path) of every route that writes, and of the heavy reads; ids set to 1.
    `with_limit`: and how many it may do (the limits in limited_config)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in EXEMPT_BLUEPRINTS:
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        limit = 2 if rule.endpoint in HEAVY else 3
        methods = sorted(rule.methods & UNSAFE_METHODS)
        if rule.endpoint in HEAVY and "GET" in rule.methods:
            methods.append("GET")
        for method in methods:
            yield (method, path, limit) if with_limit else (method, path)


def test_the_route_list_covers_what_the_issue_names(app):
    routes = set(limited_routes(app.app))
    for expected in [("POST", "/rate_message/1"), ("POST", "/messages/1/stop"),
                     ("POST", "/c/1/share"), ("POST", "/c/1/share/delete"),
                     ("POST", "/c/1/rename"), ("POST", "/c/1/archive"),
                     ("POST", "/api/chat/sessions/import/"), ("GET", "/export/all.zip"),
                     ("POST", "/usage/budget"), ("PUT", "/conversations/1")]:
        assert expected in routes


SIGNS_OUT = {"/sign-out", "/api/v1/auth/logout"}


async def attempt(client, method, path, base, token):
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    return await client.open(path, method=method, headers=headers, scope_base=base)


async def test_every_write_route_answers_429_past_the_limit(app):
    """Whatever the request (an unknown id, a bad body), it is counted before the view."""
    for number, (method, path, limit) in enumerate(limited_routes(app.app, with_limit=True)):
        client = app.test_client()
        # Each route from its own address, so that only the person's limit is reached.
        base = {"client": (f"198.51.100.{number + 1}", 1)}
        if path in SIGNS_OUT:
            # Signing out makes the browser a new guest: a new person, whose own count starts
            # at zero; the address's count goes on.
            continue
        # The session's token, read once: a page for each attempt was most of this test's
        # time (a write that changed the token would fail the attempts after it with 403).
        token = body_csrf(await (await client.get("/", scope_base=base)).get_data(as_text=True))
        statuses = [(await attempt(client, method, path, base, token)).status_code
                    for _ in range(limit)]
        assert 429 not in statuses, (method, path, statuses)
        refused = await attempt(client, method, path, base, token)
        assert refused.status_code == 429, (method, path)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        body = await refused.get_json()
        # In each API's error shape: {"ok": false, "error"}, {"success": false, "error"},
        # or {"detail"}.
        assert body.get("ok", body.get("success")) in (False, None), (method, path)
        assert "Too many" in body.get("error", body.get("detail")), (method, path)


async def test_a_burst_of_votes_writes_only_what_the_limit_allows(app, fake_upstream):
    client = app.test_client()
    q, a = await exchange(client, fake_upstream, "hi", "hello")
    token = await csrf(client)
    responses = await asyncio.gather(*(
        client.post(f"/rate_message/{a}", json={"rating": 1 if i % 2 else -1},
                    headers={"X-CSRF-Token": token}) for i in range(30)))
    statuses = [r.status_code for r in responses]
    # The send counted one write already.
    assert statuses.count(200) == 2 and statuses.count(429) == 28
    assert await ActionLog.filter(action_type="vote").count() == 2


async def test_the_refusal_is_a_page_an_alert_or_json_as_asked(app):
    client = app.test_client()
    token = await csrf(client)
    for _ in range(3):
        await client.post("/c/1/archive", form={"csrf_token": token})
    page = await client.post("/c/1/archive", form={"csrf_token": token})
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Too many changes: at most 3 per minute" in soup(
        await page.get_data(as_text=True)).get_text(" ")
    alert = await client.post("/c/1/archive", form={"csrf_token": token},
                              headers={"HX-Request": "true"})
    assert alert.status_code == 429 and alert.headers["HX-Retarget"] == "#alerts"


async def test_a_fresh_cookie_does_not_reset_the_address_limit(app):
    base = {"client": ("192.0.2.10", 1)}
    for _ in range(3):  # each fresh cookie spends the address's allowance (3 x 2)
        client = app.test_client()
        await client.get("/", scope_base=base)
        token = await csrf(client)
        for _ in range(2):
            response = await client.post("/c/1/rename", form={"csrf_token": token},
                                         scope_base=base)
            assert response.status_code != 429
    fresh = app.test_client()
    await fresh.get("/", scope_base=base)
    response = await fresh.post("/c/1/rename", form={"csrf_token": await csrf(fresh)},
                                scope_base=base)
    assert response.status_code == 429
    assert "from your address" in soup(await response.get_data(as_text=True)).get_text()
    # Another address is not affected.
    other = {"client": ("192.0.2.11", 1)}
    await fresh.get("/", scope_base=other)
    response = await fresh.post("/c/1/rename", form={"csrf_token": await csrf(fresh)},
                                scope_base=other)
    assert response.status_code == 404


@pytest.mark.parametrize(("trusted", "separate"), [("10.0.0.0/8", True), ("", False)])
async def test_behind_a_listed_proxy_each_client_has_its_own_address_limit(
        limited_config, trusted, separate):
    test_app = await started({**limited_config, "TRUSTED_PROXIES": trusted,
                              "WRITE_ADDRESS_FACTOR": 1})
    try:
        proxy = {"client": ("10.0.0.2", 1)}
        statuses = []
        for address in ["203.0.113.1", "203.0.113.2"]:
            client = test_app.test_client()
            headers = {"X-Forwarded-For": address}
            await client.get("/", scope_base=proxy, headers=headers)
            token = await csrf(client)
            for _ in range(3):
                response = await client.post("/c/1/rename", form={"csrf_token": token},
                                             headers=headers, scope_base=proxy)
                statuses.append(response.status_code)
        # Without the setting, both are the proxy's one address: the second is refused.
        assert statuses == [404] * 6 if separate else statuses == [404] * 3 + [429] * 3
    finally:
        await test_app.__aexit__(None, None, None)


async def test_heavy_requests_have_their_own_stricter_limit(app):
    client = app.test_client()
    await csrf(client)
    statuses = [(await client.get("/export/all.zip")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Reading pages is never limited.
    assert all([(await client.get("/")).status_code == 200 for _ in range(10)])


async def test_workers_share_the_counts_through_redis(app, store_kind, redis_url):
    """Another worker is another process with its own connection to Redis: here, the same
    app given a new store (two apps cannot share one process's ORM)."""
    if store_kind != "redis":
        pytest.skip("the memory store is one process's")
    client = app.test_client()
    token = await csrf(client)
    for _ in range(3):
        await client.post("/c/1/archive", form={"csrf_token": token})
    first = app.app.extensions["quota_store"]
    app.app.extensions["quota_store"] = quotas.RedisQuotaStore(redis_url)
    try:
        response = await client.post("/c/1/archive", form={"csrf_token": token})
        assert response.status_code == 429
    finally:
        await app.app.extensions["quota_store"].aclose()
        app.app.extensions["quota_store"] = first


async def test_limits_are_read_from_the_environment(monkeypatch, app_config):
    monkeypatch.setenv("HYPERCHAT_WRITE_RATE_LIMIT", "100")
    monkeypatch.setenv("HYPERCHAT_HEAVY_RATE_LIMIT", "4")
    app = create_app(app_config)
    assert (app.config["WRITE_RATE_LIMIT"], app.config["HEAVY_RATE_LIMIT"]) == (100, 4)


async def test_conversations_untouched_by_refused_writes(app):
    client = app.test_client()
    token = await csrf(client)
    await client.post("/messages", form={"content": "hi", "csrf_token": token},
                      headers={"HX-Request": "true"})
    conversation = await Conversation.get()
    for title in ["a", "b"]:
        await client.post(f"/c/{conversation.id}/rename", form={"title": title,
                                                                "csrf_token": token})
    refused = await client.post(f"/c/{conversation.id}/rename",
                                form={"title": "c", "csrf_token": token})
    assert refused.status_code == 429
    assert (await Conversation.get(id=conversation.id)).title == "b"
