"""MemoryStreamHub: numbered chunks, replay from a position, live follow, keep-alives, stop."""

import asyncio

from hyperchat.streaming import Kind, MemoryStreamHub


async def collect(iterator):
    return [item async for item in iterator]


async def test_follow_replays_then_follows_until_closed():
    hub = MemoryStreamHub()
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


async def test_snapshot_and_follow_never_duplicate_or_skip():
    hub = MemoryStreamHub()
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


async def test_reasoning_and_text_share_one_numbering_and_resume_from_any_position():
    hub = MemoryStreamHub()
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


async def test_follow_yields_none_as_keepalive_while_silent():
    hub = MemoryStreamHub()
    await hub.open(1, on_stop=lambda: None)
    iterator = hub.follow(1, after=0, keepalive=0.01)
    assert await anext(iterator) is None
    await hub.append(1, "x")
    assert (await anext(iterator)).text == "x"
    await hub.close(1)
    assert await collect(iterator) == []


async def test_follow_of_unknown_or_closed_reply_ends_at_once():
    hub = MemoryStreamHub()
    assert await collect(hub.follow(99, after=0, keepalive=1)) == []
    assert await hub.snapshot(99) is None
    await hub.open(1, on_stop=lambda: None)
    await hub.close(1)
    assert await collect(hub.follow(1, after=0, keepalive=1)) == []


async def test_request_stop_calls_the_generators_callback():
    hub = MemoryStreamHub()
    stopped = []
    await hub.open(1, on_stop=lambda: stopped.append(1))
    assert await hub.request_stop(1) is True
    assert stopped == [1]
    assert await hub.request_stop(2) is False
