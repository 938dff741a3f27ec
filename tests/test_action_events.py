"""Live action events: fan-out to every tab of a conversation, resume by position, resync
when events were missed, and the acting tab not sent its own change twice."""

import asyncio

import pytest

from hyperchat.live import tab_events
from hyperchat.live.redis_backed import RedisEventBus
from hyperchat.live.tab_events import MemoryEventBus
from hyperchat.store.schema import Message
from tests.fake_upstream import Tokens
from tests.helpers import (
    act,
    act_until_done,
    csrf,
    exchange,
    finished,
    follow_tab_events,
    new_id,
    parse_sse,
    soup,
    vote,
)


async def take(iterator, n):
    return [await asyncio.wait_for(anext(iterator), 2) for _ in range(n)]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request):
    """Make an event bus of one kind (Redis: on a freshly emptied database)."""
    buses = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    async def make(backlog=200):
        if url is None:
            return MemoryEventBus(backlog=backlog)
        bus = RedisEventBus(url, backlog=backlog)
        await bus.start()
        if not buses:
            await bus.redis.flushdb()
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.aclose()


async def test_bus_fans_out_to_every_follower_in_order(make_bus):
    bus = await make_bus()
    start = await bus.position(1)
    one, two = bus.follow(1, start, 5), bus.follow(1, start, 5)
    await bus.publish(1, tab_events.MESSAGE_EDITED, "<a>", "tab")
    await bus.publish(1, tab_events.MESSAGE_DELETED, "<b>", None)
    await bus.publish(2, tab_events.MESSAGE_DELETED, "<other conversation>", None)
    for follower in (one, two):
        got = await take(follower, 2)
        assert [(e.type, e.html, e.origin) for e in got] == [
            (tab_events.MESSAGE_EDITED, "<a>", "tab"), (tab_events.MESSAGE_DELETED, "<b>", None)]
        assert got[0].position == f"{bus.epoch}-1"
        await follower.aclose()


async def test_bus_resumes_after_a_position_without_duplicates(make_bus):
    bus = await make_bus()
    for i in range(3):
        await bus.publish(1, tab_events.THREAD_CHANGED, str(i), None)
    follower = bus.follow(1, f"{bus.epoch}-1", 5)
    assert [e.html for e in await take(follower, 2)] == ["1", "2"]
    await follower.aclose()


@pytest.mark.parametrize("after", ["otherepoch-1", "{epoch}-99", "{epoch}-x", "garbage"])
async def test_bus_tells_a_tab_that_missed_events_to_resync(after, make_bus):
    bus = await make_bus(backlog=2)
    for i in range(5):
        await bus.publish(1, tab_events.THREAD_CHANGED, str(i), None)
    follower = bus.follow(1, after.format(epoch=bus.epoch), 5)
    (event,) = await take(follower, 1)
    assert event.type == tab_events.RESYNC
    await follower.aclose()


async def test_bus_resyncs_a_tab_behind_its_backlog(make_bus):
    bus = await make_bus(backlog=2)
    for i in range(5):
        await bus.publish(1, tab_events.THREAD_CHANGED, str(i), None)
    follower = bus.follow(1, f"{bus.epoch}-1", 5)
    assert (await take(follower, 1))[0].type == tab_events.RESYNC
    await follower.aclose()
    # Within the backlog it replays instead.
    follower = bus.follow(1, f"{bus.epoch}-3", 5)
    assert [e.html for e in await take(follower, 2)] == ["3", "4"]
    await follower.aclose()


async def test_bus_sends_keepalives_and_forgets_unfollowed_channels():
    bus = MemoryEventBus()
    follower = bus.follow(1, None, 0.05)
    assert await take(follower, 1) == [None]
    assert bus.cleanup() == 0
    await follower.aclose()
    assert bus.cleanup() == 1


async def test_redis_bus_events_published_on_one_worker_reach_followers_on_another(
        redis_url):
    a, b = RedisEventBus(redis_url), RedisEventBus(redis_url)
    for bus in (a, b):
        await bus.start()
    await a.redis.flushdb()
    await a.publish(4, tab_events.THREAD_CHANGED, "<before>", None)
    start = await b.position(4)
    assert start == await a.position(4) == f"{a.epoch}-1"
    follower = b.follow(4, start, 5)
    await a.publish(4, tab_events.MESSAGE_EDITED, "<edited>", "tab-a")
    await b.publish(4, tab_events.MESSAGE_DELETED, "<deleted>", None)
    got = await take(follower, 2)
    assert [(e.position, e.type, e.html, e.origin) for e in got] == [
        (f"{a.epoch}-2", tab_events.MESSAGE_EDITED, "<edited>", "tab-a"),
        (f"{a.epoch}-3", tab_events.MESSAGE_DELETED, "<deleted>", None)]
    assert await take(b.follow(4, None, 0.05), 1) == [None]  # keep-alives while silent
    await follower.aclose()
    for bus in (a, b):
        await bus.aclose()


async def test_redis_bus_lost_mid_way_loses_no_action_and_ends_followers(tmp_path):
    from tests.redis_server import redis_server

    with redis_server(tmp_path) as url:
        if url is None:
            pytest.skip("redis-server is not installed")
        bus = RedisEventBus(url)
        await bus.start()
        follower = bus.follow(1, await bus.position(1), 0.2)
        await bus.publish(1, tab_events.MESSAGE_EDITED, "<a>", None)
        assert (await take(follower, 1))[0].html == "<a>"
    # The action that publishes is not failed by it; the follower ends (its tab reconnects).
    await bus.publish(1, tab_events.MESSAGE_DELETED, "<b>", None)
    assert [e async for e in follower] == []
    await bus.aclose()


async def read_frames(connection, want: int, timeout: float = 5) -> list[dict]:
    raw = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frames = []
    while len(frames) < want:
        chunk = await asyncio.wait_for(connection.receive(), deadline - loop.time())
        raw += chunk.decode()
        frames = [e for e in parse_sse(raw) if "comment" not in e]
    return frames


async def test_another_tab_receives_the_action_as_fragments(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    url = page.select_one("#conversation-events")["hx-sse:connect"]
    # The page's position, awaited by the template (EventBus.position is async).
    bus = client.app.extensions["events"]
    assert url == f"/c/{cid}/events?after={await bus.position(cid)}"
    await csrf(client)

    async with client.request(url, headers={"X-Tab-Id": "tab-b"}) as tab_b, \
            client.request(url, headers={"X-Tab-Id": "tab-a"}) as tab_a:
        await tab_b.send_complete()
        await tab_a.send_complete()
        fake_upstream.enqueue(Tokens(["a2"], ttft=0.3))
        response = await act(client, a, "regenerate", tab="tab-a")
        (new,) = new_id(await response.get_data(as_text=True))

        (frame,) = await read_frames(tab_b, 1)
        fragment = soup(frame["data"])
        assert fragment.select_one("hx-partial")["hx-target"] == f"#msg-{a}"
        bubble = fragment.select_one(f"article#msg-{new}")
        assert bubble.select_one(".stream-source")["hx-get"].startswith(f"/messages/{new}/stream")
        # The acting tab already has the change: its stream only moves its position on.
        (own,) = await read_frames(tab_a, 1)
        assert own["id"] == frame["id"] and own["data"] == ""

        # Progress of the regeneration, then the finished version, reach tab B too.
        await finished(new)
        frames = await read_frames(tab_b, 2)
        assert any(f"msg-{new}-meta" in f["data"] for f in frames[1:])
        await tab_b.disconnect()
        await tab_a.disconnect()


async def until_quiet(follower, quiet: float = 0.5) -> list:
    """The events `follower` yields until none comes for `quiet` seconds; then close it."""
    events = []
    try:
        while True:
            events.append(await asyncio.wait_for(anext(follower), quiet))
    except TimeoutError:
        return events
    finally:
        await follower.aclose()


async def test_every_action_publishes_its_seed_event_type(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    follower = await follow_tab_events(app, q)

    fake_upstream.enqueue(Tokens(["b"]), Tokens(["c"]))
    (new,) = await act_until_done(client, a, "regenerate")
    user, reply = await act_until_done(client, q, "edit", content="q2")
    await act(client, reply, "delete")
    await act(client, reply, "restore")
    await act(client, reply, "feedback", feedback_type="upvote", reasons="accurate")
    await vote(client, reply, -1)
    seen = [event.type for event in await until_quiet(follower)]
    assert [t for t in seen if t != tab_events.REGENERATION_PROGRESS] == [
        tab_events.MESSAGE_REGENERATING, tab_events.MESSAGE_REGENERATED,
        tab_events.MESSAGE_EDITED, tab_events.MESSAGE_REGENERATED,
        tab_events.MESSAGE_DELETED, tab_events.THREAD_CHANGED,
        tab_events.FEEDBACK_SUBMITTED, tab_events.FEEDBACK_SUBMITTED]


async def test_the_events_channel_is_the_owners_only(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    cid = (await Message.get(id=q)).conversation_id
    stranger = app.test_client()
    await csrf(stranger)
    assert (await stranger.get(f"/c/{cid}/events")).status_code == 404
    assert (await client.get("/c/9999/events")).status_code == 404


async def test_a_regeneration_reports_its_progress_to_every_tab(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    follower = await follow_tab_events(app, q)
    fake_upstream.enqueue(Tokens([f"word{i} " for i in range(30)], interval=0.05))
    (new,) = await act_until_done(client, a, "regenerate")
    progress = [soup(event.html).select_one(f"#msg-{new}-progress")
                for event in await until_quiet(follower)
                if event.type == tab_events.REGENERATION_PROGRESS]
    # About two a second over ~1.5 s, each replacing the bubble's progress line; for every
    # tab (no origin), the acting one included.
    assert len(progress) >= 2
    assert all(p["hx-swap-oob"] == "true" and p.get_text().strip().startswith("Writing…")
               for p in progress)
    # A real progress bar, indeterminate (no value: the reply's length is not known ahead),
    # named for screen readers; the tokens so far are in the text beside it.
    bars = [p.select_one("progress") for p in progress]
    assert all(bar is not None and not bar.has_attr("value") and bar["aria-label"] for bar in bars)
    counts = [int(p.get_text().split("≈")[1].split()[0]) for p in progress]
    assert counts == sorted(counts) and counts[-1] > 0


async def test_an_events_json_data_travels_with_it(make_bus):
    bus = await make_bus()
    follower = bus.follow(7, await bus.position(7), 5)
    data = {"conversationId": 7, "messageId": 3, "content": "é\n<b>", "progress": 42.5}
    await bus.publish(7, tab_events.MESSAGE_EDITED, "<a>", "tab", data)
    await bus.publish(7, tab_events.THREAD_CHANGED, "<b>", None)
    first, second = await take(follower, 2)
    assert (first.type, first.html, first.data) == (tab_events.MESSAGE_EDITED, "<a>", data)
    assert second.data is None
    await follower.aclose()
