"""A reply's upstream request goes out before the request that started it goes on: the time to
first token starts at that send, so rendering the POST's response must not come first."""

import asyncio

from hyperchat.chat.generation import Generations
from hyperchat.live.reply_buffer import MemoryStreamHub
from hyperchat.upstream.client import ChatMessage, Upstream
from hyperchat.upstream.wire import TextDelta
from tests.fake_upstream import Tokens


class Message:
    """The fields of a reply that Generations.start reads before its task saves anything."""

    def __init__(self, id_: int):
        self.id = id_
        self.reasoning = None


class SteppingUpstream:
    """An upstream that needs several turns of the event loop before its request is out, as
    httpx does (pool, then headers, then body), then calls on_sent."""

    def __init__(self, turns: int = 5, call_on_sent: bool = True, fail: bool = False):
        self.turns, self.call_on_sent, self.fail = turns, call_on_sent, fail
        self.log: list[str] = []

    async def stream(self, messages, model, *, temperature=None, on_sent=None):
        for _ in range(self.turns):
            await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("no connection")
        if self.call_on_sent and on_sent is not None:
            self.log.append("sent")
            on_sent()
        await asyncio.sleep(3600)  # the model thinks for a long time
        yield TextDelta("never")


def generations(upstream) -> Generations:
    return Generations(MemoryStreamHub(), upstream, partial_save_interval=60)


async def test_start_returns_once_the_upstream_request_is_out():
    upstream = SteppingUpstream(turns=5)
    gens = generations(upstream)
    await gens.start(Message(1), "m", [ChatMessage("user", "hi")])
    upstream.log.append("start returned")
    assert upstream.log == ["sent", "start returned"]
    gens._stop(1)
    # The task saves its outcome when stopped; there is no database here, and that is logged.
    await asyncio.gather(*gens._tasks.values(), return_exceptions=True)


async def test_start_returns_when_the_task_ends_before_any_send():
    gens = generations(SteppingUpstream(turns=2, fail=True))
    await asyncio.wait_for(gens.start(Message(2), "m", []), timeout=5)


async def test_start_waits_no_longer_than_its_safety_net(monkeypatch):
    monkeypatch.setattr("hyperchat.chat.generation.SEND_WAIT", 0.05)
    gens = generations(SteppingUpstream(call_on_sent=False))
    loop = asyncio.get_running_loop()
    began = loop.time()
    await gens.start(Message(3), "m", [])
    # At least the safety net; far less than the hour the upstream takes (wide, for a busy
    # machine).
    assert 0.04 <= loop.time() - began < 5
    gens._stop(3)
    await asyncio.gather(*gens._tasks.values(), return_exceptions=True)


async def test_real_client_calls_on_sent_before_the_upstream_answers(fake_upstream):
    fake_upstream.enqueue(Tokens(["Hi"], ttft=0.3))
    upstream = Upstream(base_url=fake_upstream.url, api_key="k", connect_timeout=2,
                        read_timeout=5)
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    events = []
    try:
        async for event in upstream.stream([ChatMessage("user", "hi")], "openai/gpt-4o-mini",
                                           on_sent=lambda: calls.append(loop.time())):
            events.append((loop.time(), event))
    finally:
        await upstream.aclose()
    assert calls, "on_sent was never called"
    first_text = next(at for at, event in events if isinstance(event, TextDelta))
    # Called at the first network wait (connect), and again at most once per wait after it;
    # in any case well before the first token, which the fake holds back 0.3 s.
    assert calls[0] < first_text - 0.2
    assert fake_upstream.requests[0]["json"]["messages"] == [{"role": "user", "content": "hi"}]
