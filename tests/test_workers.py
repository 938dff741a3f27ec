"""Several workers (REDIS_URL): a reply generated on one worker is streamed, resumed and
stopped from another, and action events published on one reach tabs on another. Worker A is
the app in this process; worker B is `python -m hyperchat` in a process of its own, on the
same database and Redis. Also: WORKERS, and the failures at start and mid-stream."""

import asyncio
import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
import pytest
import redis

from hyperchat import create_app
from hyperchat.live.redis_backed import RedisEventBus, RedisStreamHub
from hyperchat.live.reply_buffer import MemoryStreamHub
from hyperchat.live.tab_events import MemoryEventBus
from hyperchat.store.schema import Message, Status
from tests.fake_upstream import Tokens
from tests.helpers import (
    csrf,
    final_frame,
    finished,
    page_csrf,
    parse_sse,
    soup,
    start_reply,
    stop_process,
    token_text,
    vote,
    wait_until,
)
from tests.redis_server import free_port, redis_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app_config(app_config, redis_url):
    """Worker A's settings: the usual test app, on a freshly emptied Redis."""
    redis.Redis.from_url(redis_url).flushdb()
    return {**app_config, "REDIS_URL": redis_url}


def environment(**settings) -> dict:
    env = {name: value for name, value in os.environ.items()
           if name not in ("WORKERS", "REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env.update({name: str(value) for name, value in settings.items()})
    return env


@asynccontextmanager
async def server(env: dict, port: int, timeout: float = 30):
    """`python -m hyperchat` with `env`, until it answers /health; an httpx client on it."""
    process = subprocess.Popen([sys.executable, "-m", "hyperchat"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     timeout=10) as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                with suppress(httpx.TransportError):
                    if (await http.get("/health")).status_code == 200:
                        break
                if process.poll() is not None or loop.time() > deadline:
                    raise AssertionError(f"hyperchat did not start: {process.stderr.read()}")
                await asyncio.sleep(0.1)
            yield http
    finally:
        stop_process(process)
        process.stderr.close()


@pytest.fixture
async def worker_b(app, app_config):
    """Worker B, started once worker A (the `app` fixture) has migrated the database."""
    port = free_port()
    env = environment(
        DATABASE_URL=app_config["DATABASE_URL"], REDIS_URL=app_config["REDIS_URL"],
        SECRET_KEY=app_config["SECRET_KEY"], OPENROUTER_BASE_URL=app_config["OPENROUTER_BASE_URL"],
        OPENROUTER_API_KEY="test-key", DEFAULT_MODEL=app_config["DEFAULT_MODEL"],
        HOST="127.0.0.1", PORT=port, HYPERCHAT_SSE_KEEPALIVE=0.5, HYPERCHAT_CATALOG_REFRESH=0,
        HYPERCHAT_RUN_MIGRATIONS="false")
    async with server(env, port) as http:
        yield http


async def session_of(client) -> tuple[str, dict]:
    """The CSRF token and the session cookie of worker A's client: the same person on B
    (both workers have the same SECRET_KEY)."""
    token = await csrf(client)
    return token, {"Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookie_jar)}


async def read_sse(http, url: str, headers: dict, frames: int | None = None) -> list[dict]:
    """Read an SSE response to its end, or until `frames` frames with an id have come."""
    raw = ""
    async with http.stream("GET", url, headers=headers, timeout=30) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_text():
            raw += chunk
            complete = parse_sse(raw.rpartition("\n\n")[0])
            if frames is not None and len([e for e in complete if e["id"]]) >= frames:
                return complete
    return parse_sse(raw)


@pytest.mark.parametrize(("hub", "bus"), [
    pytest.param(RedisStreamHub, RedisEventBus, id="redis"),
    pytest.param(MemoryStreamHub, MemoryEventBus, id="memory",
                 marks=pytest.mark.config(REDIS_URL=None)),
])
async def test_redis_url_selects_the_redis_seams_and_its_absence_the_memory_ones(app, hub, bus):
    assert type(app.app.extensions["generations"].hub) is hub
    assert type(app.app.extensions["events"]) is bus


def saved_text(events: list[dict]) -> str:
    """The reply's text in the final frame (rendered from the database)."""
    return soup(final_frame(events)).select_one(".message-content").get_text().strip()


async def test_a_reply_generated_on_one_worker_streams_in_full_from_another(
        client, fake_upstream, worker_b):
    token, cookie = await session_of(client)
    tokens = [f"w{i} " for i in range(30)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, ttft=0.2, interval=0.02))
    events = await read_sse(worker_b, f"/messages/{reply_id}/stream?after=0", cookie)
    assert token_text(events) == "".join(tokens)  # exactly once each, in order
    ids = [int(e["id"]) for e in events if e["id"]]
    assert ids == sorted(set(ids))
    assert events[-1] == {"id": None, "event": "done", "data": str(reply_id)}
    assert saved_text(events) == "".join(tokens).strip()
    assert (await finished(reply_id)).status == Status.COMPLETE


async def test_a_reload_on_the_other_worker_resumes_without_duplicates(
        client, fake_upstream, worker_b):
    token, cookie = await session_of(client)
    tokens = [f"r{i} " for i in range(40)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, ttft=0.1, interval=0.03))
    url = f"/messages/{reply_id}/stream?after=0"
    before = await read_sse(worker_b, url, cookie, frames=3)
    seen = [e for e in before if e["id"]]
    # The browser reconnects with the last id it got, like after a reload mid-stream.
    after = await read_sse(worker_b, url, {**cookie, "Last-Event-ID": seen[-1]["id"]})
    assert "".join(e["data"] for e in seen) + token_text(after) == "".join(tokens)
    assert after[-1]["event"] == "done"


async def test_a_stop_sent_to_another_worker_stops_the_generating_one(
        client, fake_upstream, worker_b):
    token, cookie = await session_of(client)
    tokens = [f"s{i} " for i in range(200)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.02))
    hub = client.app.extensions["generations"].hub

    async def some_text():
        snapshot = await hub.snapshot(reply_id)
        return snapshot and snapshot.seq >= 5

    await wait_until(some_text)
    response = await worker_b.post(f"/messages/{reply_id}/stop",
                                   headers={**cookie, "X-CSRF-Token": token})
    assert response.status_code == 204
    await client.app.extensions["generations"].wait(reply_id)
    reply = await Message.get(id=reply_id)
    assert reply.status == Status.STOPPED
    assert reply.content and "".join(tokens).startswith(reply.content)
    assert len(reply.content) < len("".join(tokens))


async def test_an_action_event_published_on_one_worker_reaches_a_tab_on_another(
        client, fake_upstream, worker_b):
    token, cookie = await session_of(client)
    reply_id = await start_reply(client, fake_upstream, Tokens(["done"]))
    reply = await finished(reply_id)
    bus = client.app.extensions["events"]
    position = await bus.position(reply.conversation_id)
    url = f"/c/{reply.conversation_id}/events?after={position}"
    tab_b = asyncio.create_task(read_sse(worker_b, url, cookie, frames=1))
    await asyncio.sleep(0.5)  # B's tab is connected
    response = await vote(client, reply_id, 1)
    assert response.status_code == 200
    (frame,) = [e for e in await asyncio.wait_for(tab_b, 10) if e["id"]]
    assert frame["id"] == await bus.position(reply.conversation_id) != position
    assert soup(frame["data"]).select(f"[id^=msg-{reply_id}]")


async def test_a_json_event_published_on_one_worker_reaches_a_program_on_another(
        client, fake_upstream, worker_b):
    _token, cookie = await session_of(client)
    reply_id = await start_reply(client, fake_upstream, Tokens(["done"]))
    reply = await finished(reply_id)
    bus = client.app.extensions["events"]
    position = await bus.position(reply.conversation_id)
    url = f"/api/conversations/{reply.conversation_id}/events?after={position}"
    program = asyncio.create_task(read_sse(worker_b, url, cookie, frames=1))
    await asyncio.sleep(0.5)  # B's stream is connected
    assert (await vote(client, reply_id, -1)).status_code == 200
    (frame,) = [e for e in await asyncio.wait_for(program, 10) if e["id"]]
    assert frame["event"] == "feedback_submitted"
    assert json.loads(frame["data"]) == {
        "conversationId": reply.conversation_id, "messageId": reply_id,
        "feedbackType": "downvote", "rating": -1, "reasons": [], "reason": ""}


async def test_redis_lost_mid_stream_the_reply_is_saved_and_the_reader_ends_with_it(
        app_config, fake_upstream, tmp_path):
    tokens = [f"l{i} " for i in range(30)]
    with redis_server(tmp_path) as url:
        app = create_app({**app_config, "REDIS_URL": url})
        async with app.test_app() as test_app:
            client = test_app.test_client()
            reply_id = await start_reply(client, fake_upstream,
                                         Tokens(tokens, ttft=0.1, interval=0.03))
            async with client.request(f"/messages/{reply_id}/stream?after=0") as connection:
                await connection.send_complete()
                raw = (await connection.receive()).decode()
                assert raw.startswith("id: ")
                with suppress(redis.exceptions.ConnectionError):
                    await app.extensions["generations"].hub.redis.shutdown(nosave=True)
                while True:
                    try:
                        raw += (await asyncio.wait_for(connection.receive(), 10)).decode()
                    except asyncio.CancelledError:  # the response ended
                        break
                    if "event: done" in raw:
                        break
            reply = await finished(reply_id)
            assert reply.status == Status.COMPLETE and reply.content == "".join(tokens)
            assert saved_text(parse_sse(raw)) == "".join(tokens).strip()


async def test_redis_down_at_start_is_a_clear_error(app_config):
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app({**app_config, "REDIS_URL": url})
    with pytest.raises(Exception, match=f"cannot reach Redis at REDIS_URL={url}"):
        async with app.test_app():
            pass


@pytest.mark.parametrize(("settings", "error"), [
    ({"WORKERS": "2"}, "hyperchat: WORKERS=2 needs REDIS_URL"),
    ({"WORKERS": "0"}, "hyperchat: WORKERS='0' is not a number of processes"),
    ({"WORKERS": "2", "REDIS_URL": "redis"},
     "hyperchat: use PostgreSQL with WORKERS > 1 (WORKERS=2, and DATABASE_URL is SQLite)."),
    ({"REDIS_URL": "dead"}, "hyperchat: cannot reach Redis at REDIS_URL="),
])
def test_the_server_refuses_to_start_with_a_one_line_error(settings, error, redis_url,
                                                           tmp_path):
    urls = {"redis": redis_url, "dead": f"redis://127.0.0.1:{free_port()}/0"}
    if "REDIS_URL" in settings:
        settings = {**settings, "REDIS_URL": urls[settings["REDIS_URL"]]}
    env = environment(DATABASE_URL=f"sqlite://{tmp_path}/x.sqlite3", SECRET_KEY="k",
                      PORT=free_port(), **settings)
    done = subprocess.run([sys.executable, "-m", "hyperchat"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(error) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.postgres
async def test_two_workers_on_postgresql_serve_a_reply_end_to_end(
        postgres_admin_url, redis_url, fake_upstream):
    from tests.conftest import TEST_DB, _with_database

    port = free_port()
    env = environment(
        WORKERS=2, DATABASE_URL=_with_database(postgres_admin_url, TEST_DB),
        REDIS_URL=redis_url, SECRET_KEY="k", OPENROUTER_BASE_URL=fake_upstream.url,
        OPENROUTER_API_KEY="test-key", DEFAULT_MODEL="openai/gpt-4o-mini", HOST="127.0.0.1",
        PORT=port, HYPERCHAT_CATALOG_REFRESH=0)
    tokens = [f"p{i} " for i in range(20)]
    async with server(env, port) as http:
        page = soup((await http.get("/")).text)
        token = page_csrf(page)
        fake_upstream.enqueue(Tokens(tokens, ttft=0.1, interval=0.02))
        response = await http.post("/messages", data={"content": "hi", "csrf_token": token},
                                   headers={"HX-Request": "true"})
        reply_id = int(soup(response.text).select("article.message")[1]["data-message-id"])
        # Several connections, so that both workers are likely to serve some.
        streams = [read_sse(http, f"/messages/{reply_id}/stream?after=0", {})
                   for _ in range(4)]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     cookies=http.cookies) as other:
            streams.append(read_sse(other, f"/messages/{reply_id}/stream?after=0", {}))
            for events in await asyncio.gather(*streams):
                assert token_text(events) in ("".join(tokens), "")  # live, or finished
                assert saved_text(events) == "".join(tokens).strip()
