"""Open SSE connections are capped per person and per address (event channels and reply
streams together): past the cap a new one is refused with 429, the open ones keep going; a
closed one frees its slot; slots are shared by workers through Redis and expire if their
worker dies."""

import asyncio
import socket
from contextlib import AsyncExitStack

import pytest

from hyperchat import create_app
from hyperchat.metering import quotas
from hyperchat.web import htmx
from tests.fake_upstream import Tokens
from tests.helpers import Clock, csrf, send, soup, wait_until


@pytest.fixture(params=["memory", "redis"])
def store_kind(request):
    return request.param


@pytest.fixture
def capped_config(app_config, store_kind, request):
    # A connection counts as open once its first keep-alive comes (opened, below): the
    # suite's half second, for each of a test's six connections, was most of its time.
    config = {**app_config, "SSE_MAX_PER_PERSON": 3, "SSE_MAX_PER_ADDRESS": 5,
              "SSE_KEEPALIVE": 0.05}
    if store_kind == "redis":
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
    return config


@pytest.fixture
async def app(capped_config):
    app = create_app(capped_config)
    async with app.test_app() as test_app:
        store = app.extensions["quota_store"]
        if isinstance(store, quotas.RedisQuotaStore):
            await store.redis.flushdb()
        yield test_app


ADDRESS = {"client": ("192.0.2.20", 1)}


async def conversation_of(client) -> int:
    await client.get("/", scope_base=ADDRESS)
    token = await csrf(client)
    response = await client.post("/messages", form={"content": "hi", "csrf_token": token},
                                 headers={"HX-Request": "true"}, scope_base=ADDRESS)
    return int(response.headers[htmx.HX_PUSH_URL].rsplit("/", 1)[1])


async def opened(stack: AsyncExitStack, client, url: str):
    """An SSE connection, open until the stack closes; returns once the view has answered
    (its first keep-alive or frame arrived)."""
    connection = await stack.enter_async_context(client.request(url, scope_base=ADDRESS))
    stack.push_async_callback(connection.disconnect)  # before the context waits for the app
    await connection.send_complete()
    await asyncio.wait_for(connection.receive(), 5)
    return connection


async def refused(client, url: str):
    response = await client.get(url, scope_base=ADDRESS)
    assert response.status_code == 429, response.status_code
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Not kept alive: each refused attempt would hold a file descriptor meanwhile.
    assert response.headers["Connection"] == "close"
    return soup(await response.get_data(as_text=True)).get_text(" ", strip=True)


async def test_a_person_past_the_cap_is_refused_and_the_open_ones_keep_going(
        app, fake_upstream):
    client = app.test_client()
    fake_upstream.enqueue(Tokens(["a"]))
    cid = await conversation_of(client)
    fake_upstream.enqueue(Tokens([f"w{i} " for i in range(400)], interval=0.02))
    page = soup(await (await send(client, "long", conversation_id=cid)).get_data(as_text=True))
    reply = int(page.select("article.message")[-1]["data-message-id"])
    channel = f"/c/{cid}/events"
    async with AsyncExitStack() as stack:
        first = await opened(stack, client, channel)
        await opened(stack, client, channel)
        stream = await opened(stack, client, f"/messages/{reply}/stream?after=0")
        # Channels and reply streams share the cap.
        assert "at most 3" in await refused(client, channel)
        assert "at most 3" in await refused(client, f"/messages/{reply}/stream?after=0")
        # The open ones still deliver.
        assert (await asyncio.wait_for(stream.receive(), 5)).startswith(b"id: ")
        assert await asyncio.wait_for(first.receive(), 5)
        await first.disconnect()

        async def freed():
            return await app.app.extensions["quota_store"].holders(
                f"sse:address:{ADDRESS['client'][0]}") == 2

        await wait_until(freed)
        await opened(stack, client, channel)


async def test_fresh_cookies_from_one_address_share_its_cap(app, fake_upstream):
    async with AsyncExitStack() as stack:
        for count in (3, 2):  # two people, 3 + 2 connections: the address's 5
            client = app.test_client()
            fake_upstream.enqueue(Tokens(["a"]))
            cid = await conversation_of(client)
            for _ in range(count):
                await opened(stack, client, f"/c/{cid}/events")
        fresh = app.test_client()
        fake_upstream.enqueue(Tokens(["a"]))
        cid = await conversation_of(fresh)
        assert "for your address (at most 5)" in await refused(fresh, f"/c/{cid}/events")
        # Another address is not affected.
        response = fresh.request(f"/c/{cid}/events", scope_base={"client": ("192.0.2.21", 1)})
        async with response as connection:
            await connection.send_complete()
            assert await asyncio.wait_for(connection.receive(), 5)
            await connection.disconnect()


async def test_a_refused_stream_is_not_counted(app, fake_upstream):
    client = app.test_client()
    fake_upstream.enqueue(Tokens(["a"]))
    cid = await conversation_of(client)
    async with AsyncExitStack() as stack:
        for _ in range(3):
            await opened(stack, client, f"/c/{cid}/events")
        for _ in range(5):
            await refused(client, f"/c/{cid}/events")
    store = app.app.extensions["quota_store"]

    async def all_freed():
        return await store.holders(f"sse:address:{ADDRESS['client'][0]}") == 0

    await wait_until(all_freed)


async def test_another_worker_sees_the_slots_through_redis(app, store_kind, redis_url,
                                                         fake_upstream):
    """Another worker has its own connection to Redis: here, the same app given a new
    store (two apps cannot share one process's ORM)."""
    if store_kind != "redis":
        pytest.skip("the memory store is one process's")
    client = app.test_client()
    fake_upstream.enqueue(Tokens(["a"]))
    cid = await conversation_of(client)
    first = app.app.extensions["quota_store"]
    async with AsyncExitStack() as stack:
        for _ in range(3):
            await opened(stack, client, f"/c/{cid}/events")
        app.app.extensions["quota_store"] = quotas.RedisQuotaStore(redis_url)
        try:
            await refused(client, f"/c/{cid}/events")
        finally:
            await app.app.extensions["quota_store"].aclose()
            app.app.extensions["quota_store"] = first


async def test_memory_slots_expire_unless_refreshed():
    clock = Clock()
    store = quotas.MemoryQuotaStore(clock=clock)
    caps = {"a": 1, "b": 2}
    assert await store.acquire(caps, "t1", 60) is None
    assert await store.acquire(caps, "t2", 60) == "a"
    assert await store.holders("b") == 1  # all or none: t2 took no slot of b
    clock.now += 50
    await store.refresh(["a", "b"], "t1", 60)
    clock.now += 50
    assert await store.acquire(caps, "t2", 60) == "a"  # refreshed: still held
    clock.now += 61  # its worker died: nothing refreshes it
    assert await store.acquire(caps, "t2", 60) is None
    await store.release(["a", "b"], "t2")
    assert await store.holders("a") == 0


async def test_redis_slots_expire_unless_refreshed(redis_url):
    store = quotas.RedisQuotaStore(redis_url, prefix="slots-test:")
    try:
        await store.redis.delete("slots-test:a", "slots-test:b")
        caps = {"a": 1, "b": 2}
        assert await store.acquire(caps, "t1", 0.5) is None
        assert await store.acquire(caps, "t2", 0.5) == "a"
        assert await store.holders("b") == 1
        await asyncio.sleep(0.3)
        await store.refresh(["a", "b"], "t1", 0.5)
        await asyncio.sleep(0.3)
        assert await store.acquire(caps, "t2", 0.5) == "a"
        await asyncio.sleep(0.6)
        assert await store.acquire(caps, "t2", 0.5) is None
        assert await store.redis.pttl("slots-test:a") > 0  # keys expire: nothing piles up
        await store.release(["a", "b"], "t2")
        assert await store.holders("a") == 0
    finally:
        await store.aclose()


def test_caps_are_read_from_the_environment(monkeypatch, app_config):
    monkeypatch.setenv("HYPERCHAT_SSE_MAX_PER_PERSON", "7")
    monkeypatch.setenv("HYPERCHAT_SSE_MAX_PER_ADDRESS", "9")
    app = create_app(app_config)
    assert (app.config["SSE_MAX_PER_PERSON"], app.config["SSE_MAX_PER_ADDRESS"]) == (7, 9)


async def test_with_redis_lost_streams_are_let_through_rather_than_failing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = quotas.RedisQuotaStore(f"redis://127.0.0.1:{port}/0")
    try:
        assert await store.acquire({"a": 1}, "t1", 60) is None
        await store.refresh(["a"], "t1", 60)
        await store.release(["a"], "t1")
    finally:
        await store.aclose()
