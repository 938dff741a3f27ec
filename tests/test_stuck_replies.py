"""No reply is left "streaming": a save the database refuses ends it as an error with its text,
its concurrent slot freed; stop finalizes a reply nobody writes; the reaper ends the replies of
a worker killed outright; a reply too long for its limits ends with its text kept.

The database errors are real ones: a trigger in the test database refuses the update."""

import asyncio
import os
import signal
import subprocess
import sys
from contextlib import asynccontextmanager, suppress

import httpx
import pytest
import redis
from tortoise import connections

from hyperchat.chat import generation
from hyperchat.lifecycle import WORKER_LOST
from hyperchat.store.schema import ActionLog, Message, Status
from tests.fake_upstream import Tokens
from tests.helpers import csrf, finished, send, soup, start_reply, wait_until
from tests.redis_server import free_port
from tests.test_workers import ROOT, environment, session_of


@asynccontextmanager
async def refused_updates(when: str):
    """A trigger that makes the database refuse every update of a message where `when` (SQL
    over NEW and OLD) holds, until the block ends."""
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    if postgres:
        await connection.execute_script(
            "CREATE OR REPLACE FUNCTION refuse_update() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql;"
            f"CREATE TRIGGER refuse_update BEFORE UPDATE ON message FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION refuse_update();")
    else:
        await connection.execute_script(
            f"CREATE TRIGGER refuse_update BEFORE UPDATE ON message WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;")
    try:
        yield
    finally:
        await connection.execute_script(
            "DROP TRIGGER IF EXISTS refuse_update ON message; DROP FUNCTION refuse_update();"
            if postgres else "DROP TRIGGER IF EXISTS refuse_update;")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CONCURRENT_GENERATIONS": 1}


async def test_a_refused_outcome_save_ends_the_reply_as_error_with_its_text_and_frees_its_slot(
        client, fake_upstream):
    tokens = ["Hello", " there", ", friend."]
    async with refused_updates("NEW.status = 'complete'"):
        reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.02))
        reply = await finished(reply_id)
    assert reply.status == Status.ERROR
    assert reply.error == generation.SAVE_FAILED
    assert reply.content == "".join(tokens)
    assert reply.finished_at is not None
    # Its slot (CONCURRENT_GENERATIONS is 1 here) is free: the next send starts a reply.
    fake_upstream.enqueue(Tokens(["again"]))
    assert (await send(client, "once more")).status_code == 200


async def test_when_the_text_cannot_be_saved_the_reply_ends_with_its_last_partial_save(
        app_config, fake_upstream):
    from hyperchat import create_app

    app = create_app({**app_config, "PARTIAL_SAVE_INTERVAL": 0.2})
    async with app.test_app():
        client = app.test_client()
        tokens = [f"t{i} " for i in range(40)]
        # Any save of the text with its last token is refused (a text the database cannot
        # store); the partial saves before it pass.
        async with refused_updates("NEW.content LIKE '%t39 %'"):
            reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.03))
            reply = await finished(reply_id)
        assert reply.status == Status.ERROR and reply.error == generation.SAVE_FAILED
        assert reply.content and "".join(tokens).startswith(reply.content)
        assert len(reply.content) < len("".join(tokens))


async def test_the_reaper_ends_a_reply_whose_every_save_was_refused(app_config, fake_upstream):
    from hyperchat import create_app

    app = create_app({**app_config, "REPLY_REAPER_INTERVAL": 0.1})
    async with app.test_app():
        client = app.test_client()
        async with refused_updates("NEW.status <> 'streaming'"):
            reply_id = await start_reply(client, fake_upstream, Tokens(["lost"]))
            await app.extensions["generations"].wait(reply_id)
            assert (await Message.get(id=reply_id)).status == Status.STREAMING
        # The database takes writes again: the reaper ends it at its second look.
        reply = await finished(reply_id)
        assert reply.status == Status.ERROR and reply.error == WORKER_LOST


async def test_the_reaper_leaves_live_replies_alone(app_config, fake_upstream):
    from hyperchat import create_app

    app = create_app({**app_config, "REPLY_REAPER_INTERVAL": 0.02})
    async with app.test_app():
        client = app.test_client()
        tokens = [f"w{i} " for i in range(25)]
        reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.04))
        reply = await finished(reply_id)
        assert reply.status == Status.COMPLETE and reply.content == "".join(tokens)


async def _orphan(client, fake_upstream, text: str) -> Message:
    """A reply left "streaming" with some text and no task writing it, as a dead worker
    leaves one."""
    reply_id = await start_reply(client, fake_upstream, Tokens(["whatever"]))
    await finished(reply_id)
    await Message.filter(id=reply_id).update(status=Status.STREAMING, content=text,
                                             finished_at=None)
    return await Message.get(id=reply_id)


async def test_stop_on_a_reply_no_task_writes_finalizes_it_as_stopped(client, fake_upstream):
    reply = await _orphan(client, fake_upstream, "half a sent")
    bus = client.app.extensions["events"]
    before = await bus.position(reply.conversation_id)
    response = await client.post(f"/messages/{reply.id}/stop",
                                 headers={"X-CSRF-Token": await csrf(client)})
    assert response.status_code == 204
    # Its tabs (the one that asked included) are sent the finished bubble.
    event = await anext(aiter(bus.follow(reply.conversation_id, before, 1)))
    assert event.type == "message_regenerated" and event.origin is None
    assert soup(event.html).select_one(f"#msg-{reply.id}-body")["data-status"] == "stopped"
    stopped = await Message.get(id=reply.id)
    assert stopped.status == Status.STOPPED and stopped.content == "half a sent"
    assert stopped.finished_at is not None
    assert await ActionLog.filter(message_id=reply.id, action_type="stop").count() == 1
    # A second stop changes nothing and logs nothing.
    await client.post(f"/messages/{reply.id}/stop", headers={"X-CSRF-Token": await csrf(client)})
    assert await ActionLog.filter(message_id=reply.id, action_type="stop").count() == 1


async def test_stop_on_a_finished_reply_changes_nothing(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Tokens(["done"]))
    await finished(reply_id)
    await client.post(f"/messages/{reply_id}/stop", headers={"X-CSRF-Token": await csrf(client)})
    assert (await Message.get(id=reply_id)).status == Status.COMPLETE


@pytest.mark.parametrize("kind", ["text", "reasoning"])
async def test_a_reply_past_its_limit_ends_there_with_its_text_kept(app_config, fake_upstream,
                                                                  kind):
    from hyperchat import create_app

    app = create_app({**app_config, "MAX_REPLY_CHARS": 25, "MAX_REASONING_CHARS": 15})
    async with app.test_app():
        client = app.test_client()
        pieces = [f"{i:04d}-" for i in range(40)]  # 5 characters each
        script = Tokens(pieces) if kind == "text" else Tokens(["ok"], reasoning=pieces)
        reply_id = await start_reply(client, fake_upstream, script)
        reply = await finished(reply_id)
        assert reply.status == Status.ERROR
        if kind == "text":
            assert reply.content == "".join(pieces)[:25]
            assert "25-character limit" in reply.error
        else:
            assert reply.reasoning == "".join(pieces)[:15] and reply.content == ""
            assert "thought process reached the 15-character limit" in reply.error


# ------------------------------------------------------------------ a worker killed outright


@pytest.fixture
def redis_config(app_config, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    return {**app_config, "REDIS_URL": redis_url, "REPLY_REAPER_INTERVAL": 0.2}


async def test_a_killed_workers_reply_is_ended_by_another_worker(redis_config, fake_upstream):
    from hyperchat import create_app

    app = create_app(redis_config)
    async with app.test_app():
        client = app.test_client()
        token, cookie = await session_of(client)
        port = free_port()
        env = environment(
            DATABASE_URL=redis_config["DATABASE_URL"], REDIS_URL=redis_config["REDIS_URL"],
            SECRET_KEY=redis_config["SECRET_KEY"],
            OPENROUTER_BASE_URL=redis_config["OPENROUTER_BASE_URL"],
            OPENROUTER_API_KEY="test-key", DEFAULT_MODEL=redis_config["DEFAULT_MODEL"],
            HOST="127.0.0.1", PORT=port, HYPERCHAT_CATALOG_REFRESH=0,
            HYPERCHAT_RUN_MIGRATIONS="false", HYPERCHAT_REPLY_LIVE_TTL=1,
            HYPERCHAT_PARTIAL_SAVE_INTERVAL=0.1)
        process = subprocess.Popen([sys.executable, "-m", "hyperchat"], env=env, cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as b:
                await wait_until(lambda: _answers(b), timeout=30, interval=0.1)
                fake_upstream.enqueue(Tokens([f"k{i} " for i in range(400)], interval=0.05))
                response = await b.post("/messages", data={"content": "hi", "csrf_token": token},
                                        headers={**cookie, "Accept": "application/json"})
                assert response.status_code == 201, response.text
                reply_id = response.json()["reply"]["id"]

                async def saved_some():
                    return (await Message.get(id=reply_id)).content

                await wait_until(saved_some)
                # Worker A's reaper has looked several times meanwhile: B's reply is live.
                await asyncio.sleep(1.0)
                assert (await Message.get(id=reply_id)).status == Status.STREAMING
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)
                kept = (await Message.get(id=reply_id)).content
                reply = await finished_within(reply_id, 10)
        finally:
            with suppress(ProcessLookupError):
                process.kill()
            process.wait(5)
        assert reply.status == Status.ERROR and reply.error == WORKER_LOST
        assert reply.content == kept and reply.content.startswith("k0 k1")
        assert reply.finished_at is not None


async def _answers(http) -> bool:
    with suppress(httpx.TransportError):
        return (await http.get("/health")).status_code == 200
    return False


async def finished_within(message_id: int, seconds: float) -> Message:
    async def done():
        message = await Message.get(id=message_id)
        return message if message.status != Status.STREAMING else None

    return await wait_until(done, timeout=seconds, interval=0.1)


async def test_the_reapers_look_for_streaming_replies_reads_an_index(app):
    # Every worker looks every REPLY_REAPER_INTERVAL: a scan of every message would hold
    # SQLite's only connection for seconds on a large database.
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_message_status'")
        assert rows and rows[0]["indexdef"].endswith("(status)")
    else:
        sql = Message.filter(status=Status.STREAMING).values_list("id", flat=True).sql()
        plan = await connection.execute_query_dict("EXPLAIN QUERY PLAN " + sql,
                                                   [Status.STREAMING.value])
        assert "idx_message_status" in " ".join(str(r["detail"]) for r in plan), plan
