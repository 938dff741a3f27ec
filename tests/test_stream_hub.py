"""The StreamHub contract, in memory and in a real Redis: numbered chunks, replay from a
position, live follow, keep-alives, stop (from this worker and from another)."""

import asyncio

import pytest

from hyperchat.live.redis_backed import LIVE_TTL, RedisStreamHub, RedisUnavailable
from hyperchat.live.reply_buffer import Kind, MemoryStreamHub


@pytest.fixture(params=["memory", "redis"])
async def hub_factory(request):
    """Make hubs of one kind; Redis ones share a freshly emptied database (two workers)."""
    hubs = []

    async def make():
        if request.param == "memory":
            return MemoryStreamHub()
        hub = RedisStreamHub(request.getfixturevalue("redis_url"))
        await hub.start()
        hubs.append(hub)
        return hub

    if request.param == "redis":
        first = await make()
        await first.redis.flushdb()
    yield make
    for hub in hubs:
        await hub.aclose()


@pytest.fixture
async def hub(hub_factory):
    return await hub_factory()


async def collect(iterator):
    return [item async for item in iterator]


async def test_follow_replays_then_follows_until_closed(hub):
    await hub.open(1, on_stop=lambda: None)
    assert await hub.append(1, "a") == 1
    assert await hub.append(1, "b") == 2
    reader = asyncio.create_task(collect(hub.follow(1, after=1, keepalive=5)))
    await asyncio.sleep(0.01)
    await hub.append(1, "c")
    await hub.close(1)
    batches = await reader
    assert "".join(b.text for b in batches) == "bc"
    assert batches[-1].seq == 3


async def test_snapshot_and_follow_never_duplicate_or_skip(hub):
    await hub.open(7, on_stop=lambda: None)
    for i in range(10):
        await hub.append(7, str(i))
    snapshot = await hub.snapshot(7)
    follower = asyncio.create_task(collect(hub.follow(7, after=snapshot.seq, keepalive=5)))
    for i in range(10, 20):
        await hub.append(7, str(i))
        await asyncio.sleep(0)
    await hub.close(7)
    rest = "".join(b.text for b in await follower)
    assert snapshot.text + rest == "".join(str(i) for i in range(20))


async def test_reasoning_and_text_share_one_numbering_and_resume_from_any_position(hub):
    await hub.open(3, on_stop=lambda: None)
    chunks = [("Let me ", Kind.REASONING), ("think.", Kind.REASONING), ("Sure", Kind.TEXT),
              (" (wait: 2?)", Kind.REASONING), (", 4.", Kind.TEXT)]
    for number, (text, kind) in enumerate(chunks, 1):
        assert await hub.append(3, text, kind) == number
    snapshot = await hub.snapshot(3)
    assert (snapshot.seq, snapshot.text, snapshot.reasoning) == \
        (5, "Sure, 4.", "Let me think. (wait: 2?)")
    await hub.close(3)
    for after in range(len(chunks) + 1):
        # A reader that already has everything up to `after` gets exactly the rest.
        await hub.open(after + 10, on_stop=lambda: None)
        for text, kind in chunks:
            await hub.append(after + 10, text, kind)
        reader = asyncio.create_task(collect(hub.follow(after + 10, after=after, keepalive=5)))
        await asyncio.sleep(0.01)
        await hub.close(after + 10)
        batches = await reader
        rest = chunks[after:]
        assert "".join(b.text for b in batches) == "".join(t for t, k in rest if k == Kind.TEXT)
        assert "".join(b.reasoning for b in batches) == \
            "".join(t for t, k in rest if k == Kind.REASONING)


async def test_follow_yields_none_as_keepalive_while_silent(hub):
    await hub.open(1, on_stop=lambda: None)
    iterator = hub.follow(1, after=0, keepalive=0.01)
    assert await anext(iterator) is None
    await hub.append(1, "x")
    assert (await anext(iterator)).text == "x"
    await hub.close(1)
    assert await collect(iterator) == []


async def test_follow_of_unknown_or_closed_reply_ends_at_once(hub):
    assert await collect(hub.follow(99, after=0, keepalive=1)) == []
    assert await hub.snapshot(99) is None
    await hub.open(1, on_stop=lambda: None)
    await hub.close(1)
    assert await collect(hub.follow(1, after=0, keepalive=1)) == []


async def test_request_stop_calls_the_generators_callback(hub):
    stopped = []
    await hub.open(1, on_stop=lambda: stopped.append(1))
    assert await hub.request_stop(1) is True
    assert stopped == [1]
    assert await hub.request_stop(2) is False


@pytest.fixture
async def workers(redis_url):
    """Two Redis hubs on one Redis: worker A and worker B."""
    a, b = RedisStreamHub(redis_url), RedisStreamHub(redis_url)
    for hub in (a, b):
        await hub.start()
    await a.redis.flushdb()
    yield a, b
    for hub in (a, b):
        await hub.aclose()


async def test_a_reply_written_on_one_worker_is_followed_from_another(workers):
    a, b = workers
    await a.open(5, on_stop=lambda: None)
    await a.append(5, "Hm", Kind.REASONING)
    await a.append(5, "Hel")
    snapshot = await b.snapshot(5)
    assert (snapshot.seq, snapshot.text, snapshot.reasoning) == (2, "Hel", "Hm")
    from_start = asyncio.create_task(collect(b.follow(5, after=0, keepalive=5)))
    from_snapshot = asyncio.create_task(collect(b.follow(5, after=snapshot.seq, keepalive=5)))
    await asyncio.sleep(0.05)
    for token in ("lo", ", ", "world"):
        await a.append(5, token)
    await a.close(5)
    everything = await from_start
    assert "".join(x.text for x in everything) == "Hello, world"
    assert "".join(x.reasoning for x in everything) == "Hm"
    assert everything[-1].seq == 5
    assert snapshot.text + "".join(x.text for x in await from_snapshot) == "Hello, world"
    # Closed: readers elsewhere read the outcome from the database.
    assert await b.snapshot(5) is None
    assert await collect(b.follow(5, after=0, keepalive=1)) == []
    assert 0 < await a.redis.ttl(a._key(5)) <= 60  # a closed reply's key does not linger


async def test_a_stop_sent_to_another_worker_reaches_the_one_generating(workers):
    a, b = workers
    stopped = asyncio.Event()
    await a.open(8, on_stop=stopped.set)
    await a.append(8, "partial")
    assert await b.request_stop(8) is True
    async with asyncio.timeout(2):
        await stopped.wait()
    await a.close(8)
    assert await b.request_stop(8) is False  # finished: nothing to stop
    assert await b.request_stop(404) is False  # never opened


async def test_a_reopened_reply_starts_a_fresh_stream(workers):
    a, b = workers
    await a.open(9, on_stop=lambda: None)
    await a.append(9, "old")
    await a.close(9)
    await a.open(9, on_stop=lambda: None)  # a continued reply keeps its id
    await a.append(9, "new")
    assert (await b.snapshot(9)).text == "new"
    await a.close(9)


async def test_redis_down_at_start_is_a_clear_error():
    from tests.redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    hub = RedisStreamHub(url)
    with pytest.raises(RedisUnavailable, match=f"cannot reach Redis at REDIS_URL={url}"):
        await hub.start()
    await hub.aclose()


async def test_the_redis_down_error_never_shows_the_password():
    from tests.redis_server import free_port

    hub = RedisStreamHub(f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    with pytest.raises(RedisUnavailable, match=r"REDIS_URL=redis://:\*\*\*@127") as error:
        await hub.start()
    assert "s3cret" not in str(error.value)
    await hub.aclose()


async def test_redis_lost_mid_stream_never_fails_the_writer_and_ends_readers(tmp_path):
    from tests.redis_server import redis_server

    with redis_server(tmp_path) as url:
        if url is None:
            pytest.skip("redis-server is not installed")
        writer, reader = RedisStreamHub(url), RedisStreamHub(url)
        await writer.start()
        await reader.start()
        await writer.open(1, on_stop=lambda: None)
        await writer.append(1, "a")
        follower = reader.follow(1, after=0, keepalive=0.2)
        assert (await anext(follower)).text == "a"
    # The server is gone: appends and close return (the generation goes on and saves to the
    # database), and the reader ends instead of hanging.
    assert await writer.append(1, "b") == 0
    await writer.close(1)
    assert await collect(follower) == []
    assert await reader.snapshot(1) is None
    assert await reader.request_stop(1) is False
    for hub in (writer, reader):
        await hub.aclose()


async def test_live_replies_are_kept_alive_by_their_worker_and_expire_without_it(workers):
    a, b = workers
    await a.open(11, on_stop=lambda: None)
    await a.append(11, "x")
    key = a._key(11)
    assert 0 < await a.redis.ttl(key) <= LIVE_TTL
    await a.redis.expire(key, 5)
    refresher = asyncio.create_task(a._refresh(every=0.05))
    await asyncio.sleep(0.2)
    refresher.cancel()
    assert await a.redis.ttl(key) > 5  # refreshed by the worker writing it
    assert await b.live([11, 12]) == {11}
    # A worker that died stops refreshing: its reply stops being live, and readers end.
    follower = asyncio.create_task(collect(b.follow(11, after=1, keepalive=0.1)))
    await a.redis.pexpire(key, 50)
    assert all(item is None for item in await asyncio.wait_for(follower, 2))  # keep-alives
    assert await b.live([11]) == set()


async def test_the_writing_workers_own_readers_follow_in_memory(workers):
    """A reader on the worker that writes the reply costs Redis nothing per chunk: only the
    writes go there (for readers elsewhere), and they still arrive whole."""
    a, b = workers
    await a.open(21, on_stop=lambda: None)
    before = await a.redis.info("commandstats")
    here = asyncio.create_task(collect(a.follow(21, after=0, keepalive=5)))
    elsewhere = asyncio.create_task(collect(b.follow(21, after=0, keepalive=5)))
    await asyncio.sleep(0.05)
    await asyncio.gather(*(a.append(21, f"{i} ") for i in range(20)))
    await a.close(21)
    expected = "".join(f"{i} " for i in range(20))
    assert "".join(x.text for x in await here) == expected
    assert "".join(x.text for x in await elsewhere) == expected
    after = await a.redis.info("commandstats")

    def calls(stats, command):
        return stats.get(f"cmdstat_{command}", {}).get("calls", 0)

    assert calls(after, "xadd") - calls(before, "xadd") == 21  # 20 chunks, the close marker
    # Only the reader on the other worker reads Redis: at most once per chunk (its XREADs
    # return as soon as anything is new, so several chunks often come in one).
    assert 1 <= calls(after, "xread") - calls(before, "xread") <= 21
