"""No single request blocks the event loop. Each heavy request (a hostile reply's markdown, an
import of 10,000 messages, the export of a large account, the share page of a 10,000-message
conversation) runs while a reply streams and /health is polled, in the same process as the
test: the reply's frames and the health answers keep coming, never more than MAX_GAP apart.
Also: the text limits on import, and the windows of the share page."""

import asyncio
import gc
import io
import json
import time
import zipfile
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import pytest

from hyperchat.store.schema import Conversation
from hyperchat.views import shares
from tests.fake_upstream import Tokens
from tests.helpers import csrf, soup, start_reply

MAX_GAP = 0.25  # seconds
IMPORT = "/api/chat/sessions/import/"


def now() -> tuple[float, float]:
    """The wall clock, and the CPU time of this process (every thread of it)."""
    return time.perf_counter(), time.process_time()


@dataclass
class Flow:
    """When each health answer and each frame of the streaming reply arrived, and each
    10 ms tick of a timer, while the heavy request ran: (wall clock, this process's CPU).

    A stall is the time this process spent between two arrivals: the CPU time. The wall clock
    also counts the other processes of a shared machine (with 2 cores and a load of 10, a
    10 ms sleep can take 200 ms), so it is reported, but only the CPU time is held to MAX_GAP.
    A request that holds the event loop, or SQLite's only connection, spends this process's
    CPU meanwhile; one that renders in another process or waits does not."""

    began: tuple[float, float] = (0.0, 0.0)
    ended: tuple[float, float] = (0.0, 0.0)
    health: list[tuple[float, float]] = field(default_factory=list)
    frames: list[tuple[float, float]] = field(default_factory=list)
    ticks: list[tuple[float, float]] = field(default_factory=list)

    def gaps(self, moments: list[tuple[float, float]]) -> tuple[float, float]:
        """The longest gap between two arrivals (or the start or end): wall, CPU."""
        inside = [self.began] + [m for m in moments if self.began[0] < m[0] < self.ended[0]] \
            + [self.ended]
        pairs = list(zip(inside, inside[1:], strict=False))
        return (max(b[0] - a[0] for a, b in pairs), max(b[1] - a[1] for a, b in pairs))

    def assert_flowing(self) -> None:
        assert self.ended[0] - self.began[0] > 0.05, "the heavy request took no time"
        worst = {"/health": self.gaps(self.health), "the reply's frames": self.gaps(self.frames),
                 "the event loop's timer": self.gaps(self.ticks)}
        report = {what: f"{cpu:.3f} s CPU ({wall:.3f} s wall)"
                  for what, (wall, cpu) in worst.items()}
        print(f"worst gaps over {self.ended[0] - self.began[0]:.2f} s: {report}")
        stalled = {what: report[what] for what, (_, cpu) in worst.items() if cpu >= MAX_GAP}
        assert not stalled, f"stalled: {stalled}"


@asynccontextmanager
async def watched(client, fake_upstream):
    """A reply streaming (a token every 10 ms), /health polled, the loop's lag measured;
    the block's time is what is checked."""
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens([f"t{i} " for i in range(6000)], interval=0.01))
    flow = Flow()
    running = True

    async def poll_health():
        while running:
            response = await client.get("/health")
            assert response.status_code == 200
            flow.health.append(now())
            await asyncio.sleep(0.02)

    async def follow_reply():
        async with client.request(f"/messages/{reply_id}/stream?after=0") as connection:
            await connection.send_complete()
            while running:
                await connection.receive()
                flow.frames.append(now())

    async def tick():
        while running:
            await asyncio.sleep(0.01)
            flow.ticks.append(now())

    tasks = [asyncio.create_task(job()) for job in (poll_health, follow_reply, tick)]
    try:
        while len(flow.frames) < 3 or len(flow.health) < 3:  # all flowing before it starts
            await asyncio.sleep(0.01)
        # Late in the whole suite this process holds every earlier test's leftovers; a full
        # garbage collection set off by the heavy request's many new objects would scan them
        # all, a pause no served app has. Frozen, they are not scanned.
        gc.collect()
        gc.freeze()
        flow.began = now()
        yield flow
        flow.ended = now()
    finally:
        gc.unfreeze()
        running = False
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        await client.post(f"/messages/{reply_id}/stop",
                          headers={"X-CSRF-Token": await csrf(client)})
        await client.app.extensions["generations"].wait(reply_id)


def document(count: int, size: int = 300, reply: str | None = None) -> dict:
    """An export of `count` messages, user and assistant in turn, `size` characters each
    (the first reply's text is `reply` when given)."""
    messages = [{"role": "user" if i % 2 == 0 else "assistant",
                 "content": f"message {i}: " + "lorem *ipsum* dolor " * (size // 20)}
                for i in range(count)]
    if reply is not None:
        messages[1]["content"] = reply
    return {"format": "hyperchat.conversation.v1", "title": "A long one", "messages": messages}


async def import_bytes(client, body: bytes):
    return await client.post(IMPORT, data=body, headers={
        "Content-Type": "application/json", "X-CSRF-Token": await csrf(client)})


async def imported(client, doc: dict) -> int:
    response = await import_bytes(client, json.dumps(doc).encode())
    assert response.status_code == 201, await response.get_data(as_text=True)
    return (await response.get_json())["id"]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RENDER_TIMEOUT": 1.0}


async def test_a_hostile_replys_markdown_renders_without_stalling_anyone(client, fake_upstream):
    # About 2.5 s of markdown, at the reply limit: past RENDER_TIMEOUT it is shown as text.
    hostile = "![" * 49_990 + "unique suffix"
    conversation_id = await imported(client, document(2, reply=hostile))
    async with watched(client, fake_upstream) as flow:
        response = await client.get(f"/c/{conversation_id}")
        page = await response.get_data(as_text=True)
    flow.assert_flowing()
    assert response.status_code == 200
    assert soup(page).select_one("pre.unrendered").get_text() == hostile


async def test_an_import_past_the_text_limits_is_refused(client):
    response = await import_bytes(client, json.dumps(document(2, reply="[" * 1_000_000))
                                  .encode())
    assert response.status_code == 400
    assert (await response.get_json())["error"] == (
        f"Not a hyperchat.conversation.v1 document: messages[1].content must be at most "
        f"{client.app.config['MAX_REPLY_CHARS']} characters long.")
    reasoning = document(2)
    reasoning["messages"][1]["reasoning"] = "x" * (client.app.config["MAX_REASONING_CHARS"] + 1)
    assert (await import_bytes(client, json.dumps(reasoning).encode())).status_code == 400
    assert await Conversation.all().count() == 0


async def test_importing_10000_messages_does_not_stall_anyone(client, fake_upstream):
    body = json.dumps(document(10_000)).encode()
    async with watched(client, fake_upstream) as flow:
        response = await import_bytes(client, body)
    flow.assert_flowing()
    assert response.status_code == 201
    assert (await response.get_json())["messageCount"] == 10_000


async def test_exporting_a_large_account_streams_without_stalling_anyone(client, fake_upstream):
    big = await imported(client, document(10_000))
    small = await imported(client, document(3))
    async with watched(client, fake_upstream) as flow:
        pieces = []
        async with client.request("/export/all.zip") as connection:
            await connection.send_complete()
            with suppress(Exception):  # the test client ends the body this way
                while True:
                    piece = await connection.receive()
                    if not piece:
                        break
                    pieces.append(piece)
    flow.assert_flowing()
    assert len(pieces) > 2  # sent as it was made, not built whole first
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    names = archive.namelist()  # with the conversation of the streaming reply
    assert len(names) == 3 and {f"conversation-{big}.json", f"conversation-{small}.json"} \
        <= set(names)
    exported = json.loads(archive.read(f"conversation-{big}.json"))
    assert len(exported["messages"]) == 10_000
    assert exported["messages"][-1]["content"] == document(10_000)["messages"][-1]["content"]


async def share(client, conversation_id: int) -> str:
    response = await client.post(f"/c/{conversation_id}/share",
                                 headers={"X-CSRF-Token": await csrf(client)})
    return (await response.get_json())["share_id"]


async def test_the_share_page_of_10000_messages_is_windowed_without_stalling_anyone(
        client, fake_upstream):
    conversation_id = await imported(client, document(10_000))
    share_id = await share(client, conversation_id)
    async with watched(client, fake_upstream) as flow:
        response = await client.get(f"/share/{share_id}")
        page = soup(await response.get_data(as_text=True))
    flow.assert_flowing()
    bubbles = page.select("#thread article.message")
    assert len(bubbles) == 50
    assert bubbles[-1].select_one(".message-content").get_text().startswith("message 9999:")
    sentinel = page.select_one("#thread .window-sentinel")
    first = bubbles[0]["data-message-id"]
    assert sentinel["hx-get"] == f"/share/{share_id}/messages?before={first}"


async def test_the_share_page_loads_earlier_windows_to_the_first_message(
        client, fake_upstream, monkeypatch):
    monkeypatch.setattr(shares, "WINDOW", 3)
    conversation_id = await imported(client, document(8))
    share_id = await share(client, conversation_id)
    anonymous = client.app.test_client()  # no cookie: anyone with the link
    page = soup(await (await anonymous.get(f"/share/{share_id}")).get_data(as_text=True))
    shown = [b.select_one(".message-content").get_text() for b in page.select("article.message")]
    sentinel = page.select_one(".window-sentinel")
    while sentinel is not None:
        response = await anonymous.get(sentinel["hx-get"])
        assert response.status_code == 200
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
        window = soup(await response.get_data(as_text=True))
        shown = [b.select_one(".message-content").get_text()
                 for b in window.select("article.message")] + shown
        sentinel = window.select_one(".window-sentinel")
    assert [text.split(":")[0] for text in shown] == [f"message {i}" for i in range(8)]


async def test_the_share_windows_are_only_for_shared_conversations(client, fake_upstream):
    conversation_id = await imported(client, document(4))
    share_id = await share(client, conversation_id)
    first = await client.get(f"/share/{share_id}/messages?before=1")
    assert first.status_code == 200
    assert (await client.get(f"/share/{share_id}/messages")).status_code == 400
    await client.post(f"/c/{conversation_id}/share/delete",
                      headers={"X-CSRF-Token": await csrf(client)})
    assert (await client.get(f"/share/{share_id}/messages?before=99")).status_code == 404
