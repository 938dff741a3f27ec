"""`make bench`, heavy requests: how long each one holds the event loop.

The app runs in this process (SQLite in a temporary directory, the fake upstream on loopback);
while a reply streams (a token every 10 ms) and /health is polled every 20 ms, each heavy
request runs once:

  markdown  a conversation page whose reply is 99,990 characters of hostile markdown ("![")
  import    POST /api/chat/sessions/import/ of 10,000 messages
  export    GET /export/all.zip of an account holding them
  share     GET /share/<id> of that 10,000-message conversation

Printed per request: its time, the event loop's worst lag (how late a 10 ms timer fired;
beside it, the CPU time this process spent during that tick: on a busy machine the wall clock
also counts the other processes), and the longest wait for a /health answer and for a frame of
the reply. Anything over 250 ms is a stall every other person of the server feels.

    .venv/bin/python bench/stall_bench.py
"""

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_upstream import FakeUpstream, Tokens  # noqa: E402
from tests.helpers import page_csrf, soup  # noqa: E402

from hyperchat import create_app  # noqa: E402

MESSAGES = 10_000
LIMIT = 0.25  # seconds


def document(count: int, reply: str | None = None) -> bytes:
    messages = [{"role": "user" if i % 2 == 0 else "assistant",
                 "content": f"message {i}: " + "lorem *ipsum* dolor sit amet " * 10}
                for i in range(count)]
    if reply is not None:
        messages[1]["content"] = reply
    return json.dumps({"format": "hyperchat.conversation.v1", "title": "bench",
                       "messages": messages}).encode()


class Client:
    def __init__(self, app):
        self.http = app.test_client()
        self.token = ""

    async def start(self):
        page = await (await self.http.get("/")).get_data(as_text=True)
        self.token = page_csrf(soup(page))

    async def post(self, path: str, **kwargs):
        headers = {"X-CSRF-Token": self.token, **kwargs.pop("headers", {})}
        return await self.http.post(path, headers=headers, **kwargs)

    async def import_(self, body: bytes) -> int:
        response = await self.post("/api/chat/sessions/import/", data=body,
                                   headers={"Content-Type": "application/json"})
        assert response.status_code == 201, await response.get_data(as_text=True)
        return (await response.get_json())["id"]


async def watched(client: Client, fake: FakeUpstream, request) -> dict:
    """Run `request()` while a reply streams and /health is polled; return the worst gaps."""
    fake.enqueue(Tokens([f"t{i} " for i in range(100_000)], interval=0.01))
    sent = await client.post("/messages", form={"content": "hi", "csrf_token": client.token},
                             headers={"Accept": "application/json"})
    reply_id = (await sent.get_json())["reply"]["id"]
    health, frames, lags, cpu = [], [], [0.0], [0.0]
    running = True

    async def poll():
        while running:
            await client.http.get("/health")
            health.append(time.perf_counter())
            await asyncio.sleep(0.02)

    async def follow():
        async with client.http.request(f"/messages/{reply_id}/stream?after=0") as connection:
            await connection.send_complete()
            while running:
                await connection.receive()
                frames.append(time.perf_counter())

    async def tick():
        while running:
            before, before_cpu = time.perf_counter(), time.process_time()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)
            cpu.append(time.process_time() - before_cpu)

    tasks = [asyncio.create_task(job()) for job in (poll, follow, tick)]
    while len(frames) < 3 or len(health) < 3:
        await asyncio.sleep(0.01)
    began = time.perf_counter()
    lags.clear()
    cpu.clear()
    await request()
    ended = time.perf_counter()
    running = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.post(f"/messages/{reply_id}/stop")

    def gap(moments):
        inside = [began] + [m for m in moments if began < m < ended] + [ended]
        return max(b - a for a, b in zip(inside, inside[1:], strict=False))

    return {"time": ended - began, "lag": max(lags or [0.0]), "cpu": max(cpu or [0.0]),
            "health": gap(health), "frames": gap(frames)}


async def run(tmp: Path) -> dict[str, dict]:
    results = {}
    with FakeUpstream() as fake:
        app = create_app({"DATABASE_URL": f"sqlite://{tmp}/stall.sqlite3", "SECRET_KEY": "bench",
                          "OPENROUTER_BASE_URL": fake.url, "OPENROUTER_API_KEY": "bench",
                          "DEFAULT_MODEL": "openai/gpt-4o-mini", "CATALOG_REFRESH": 0,
                          "SSE_KEEPALIVE": 0.5})
        async with app.test_app():
            client = Client(app)
            await client.start()
            hostile = document(2, reply="![" * 49_995)
            hostile_id = await client.import_(hostile)

            async def markdown():
                await (await client.http.get(f"/c/{hostile_id}")).get_data()

            results["markdown"] = await watched(client, fake, markdown)
            body = document(MESSAGES)
            imported = {}

            async def import_():
                imported["id"] = await client.import_(body)

            results["import"] = await watched(client, fake, import_)

            async def export():
                await (await client.http.get("/export/all.zip")).get_data()

            results["export"] = await watched(client, fake, export)
            shared = await (await client.post(f"/c/{imported['id']}/share")).get_json()

            async def share():
                await (await client.http.get(f"/share/{shared['share_id']}")).get_data()

            results["share"] = await watched(client, fake, share)
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(Path(tmp)))
    print(f"{'request':<10}{'time':>9}{'loop lag':>11}{'(CPU)':>9}{'/health':>10}{'frames':>9}")
    for name, r in results.items():
        flag = "  STALL" if max(r["lag"], r["health"], r["frames"]) > LIMIT else ""
        print(f"{name:<10}{r['time'] * 1000:>7.0f}ms{r['lag'] * 1000:>9.0f}ms"
              f"{r['cpu'] * 1000:>7.0f}ms{r['health'] * 1000:>8.0f}ms{r['frames'] * 1000:>7.0f}ms"
              f"{flag}")
    worst = max(r["lag"] for r in results.values())
    print(f"worst event loop lag during the heavy requests: {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main()
