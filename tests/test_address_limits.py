"""Until accounts exist a person is a cookie: the concurrent replies and the daily budget
are also bounded per address, so a fresh cookie does not reset them. The address is the
socket's peer, or the client a listed proxy names."""

import re

import pytest

from hyperchat import create_app
from hyperchat.store.schema import Message, Role, Status, UsageRecord
from tests.fake_upstream import Stall, Tokens
from tests.helpers import csrf, soup

HERE = {"client": ("192.0.2.30", 1)}
THERE = {"client": ("192.0.2.31", 1)}


@pytest.fixture
async def app(app_config):
    app = create_app({**app_config, "CONCURRENT_GENERATIONS": 5,
                      "CONCURRENT_GENERATIONS_PER_ADDRESS": 2})
    async with app.test_app() as test_app:
        yield test_app


async def fresh_send(app, base, content="hi"):
    """A new browser (a fresh cookie) sends one message from `base`'s address."""
    client = app.test_client()
    await client.get("/", scope_base=base)
    token = await csrf(client)
    response = await client.post("/messages", form={"content": content, "csrf_token": token},
                                 headers={"HX-Request": "true"}, scope_base=base)
    return client, response


async def settle(app):
    for reply in await Message.filter(role=Role.ASSISTANT):
        await app.app.extensions["generations"].wait(reply.id)


async def test_fresh_cookies_from_one_address_share_its_concurrent_replies(app,
                                                                          fake_upstream):
    fake_upstream.default = Stall(seconds=30)
    for _ in range(2):
        assert (await fresh_send(app, HERE))[1].status_code == 200
    _, refused = await fresh_send(app, HERE)
    assert refused.status_code == 429
    assert "Your address already has 2 replies being written" in soup(
        await refused.get_data(as_text=True)).get_text(" ")
    # Another address is not affected; the replies record where they came from.
    assert (await fresh_send(app, THERE))[1].status_code == 200
    addresses = sorted(await Message.filter(role=Role.ASSISTANT).values_list(
        "client_address", flat=True))
    assert addresses == ["192.0.2.30", "192.0.2.30", "192.0.2.31"]
    for reply in await Message.filter(role=Role.ASSISTANT, status=Status.STREAMING):
        await app.app.extensions["generations"].stop(reply.id)
    await settle(app)
    fake_upstream.default = Tokens(["ok"])
    assert (await fresh_send(app, HERE))[1].status_code == 200


async def test_a_fresh_cookie_does_not_bring_a_fresh_daily_budget(app, fake_upstream):
    app.app.config["DAILY_TOKEN_BUDGET"] = 20
    fake_upstream.default = Tokens(["ok"])
    for _ in range(2):  # 14 tokens each: the second passes the check, then goes over
        assert (await fresh_send(app, HERE))[1].status_code == 200
        await settle(app)
    assert sorted(await UsageRecord.all().values_list("client_address", flat=True)) == \
        ["192.0.2.30", "192.0.2.30"]
    _, refused = await fresh_send(app, HERE)
    assert refused.status_code == 429
    text = soup(await refused.get_data(as_text=True)).get_text(" ", strip=True)
    assert re.search(r"Today's budget is spent \(\d+ of your address's 20 tokens", text)
    assert int(refused.headers["Retry-After"]) > 0
    assert (await fresh_send(app, THERE))[1].status_code == 200


async def test_the_address_budget_can_be_set_apart_from_a_persons(app, fake_upstream):
    app.app.config["DAILY_TOKEN_BUDGET"] = 20
    app.app.config["DAILY_TOKEN_BUDGET_PER_ADDRESS"] = 100  # a shared office, say
    fake_upstream.default = Tokens(["ok"])
    for _ in range(3):
        assert (await fresh_send(app, HERE))[1].status_code == 200
        await settle(app)


@pytest.mark.parametrize(("trusted", "separate"), [("10.0.0.0/8", True), ("", False)])
async def test_behind_a_listed_proxy_each_client_has_its_own_address(
        app_config, fake_upstream, trusted, separate):
    app = create_app({**app_config, "CONCURRENT_GENERATIONS_PER_ADDRESS": 1,
                      "TRUSTED_PROXIES": trusted})
    fake_upstream.default = Stall(seconds=30)
    async with app.test_app() as test_app:
        proxy = {"client": ("10.0.0.2", 1)}
        statuses = []
        for address in ["203.0.113.1", "203.0.113.2"]:
            client = test_app.test_client()
            headers = {"X-Forwarded-For": address}
            await client.get("/", scope_base=proxy, headers=headers)
            token = await csrf(client)
            response = await client.post("/messages",
                                         form={"content": "hi", "csrf_token": token},
                                         headers={"HX-Request": "true", **headers},
                                         scope_base=proxy)
            statuses.append(response.status_code)
        assert statuses == ([200, 200] if separate else [200, 429])
        for reply in await Message.filter(role=Role.ASSISTANT, status=Status.STREAMING):
            await app.extensions["generations"].stop(reply.id)
        for reply in await Message.filter(role=Role.ASSISTANT):
            await app.extensions["generations"].wait(reply.id)
