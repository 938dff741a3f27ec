"""The reply stream: frames, resume from a position, survival of disconnects, stop, failures."""

import asyncio
import socket
from contextlib import contextmanager

import pytest

from hyperchat.store.schema import Message, Status
from hyperchat.web.event_stream import frame
from tests.fake_upstream import Drop, Hang, HttpError, InBandError, Stall, Tokens
from tests.helpers import (
    CsrfClient,
    final_frame,
    finished,
    new_id,
    parse_sse,
    send,
    soup,
    start_reply,
    token_text,
    wait_until,
)


def test_frame_prefixes_every_line_and_keeps_a_leading_space():
    assert frame(" a\nb\r\nc\rd", id=3) == b"id: 3\ndata:  a\ndata: b\ndata: c\ndata: d\n\n"
    assert frame("42", event="done") == b"event: done\ndata: 42\n\n"


async def test_stream_relays_escaped_tokens_then_final_fragments(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["<b>", "1 < 2", " & ", "😀"], ttft=0.3, interval=0.01))
    response = await client.get(f"/messages/{reply_id}/stream?after=0")
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    events = parse_sse(await response.get_data(as_text=True))
    assert token_text(events) == "&lt;b&gt;1 &lt; 2 &amp; 😀"
    ids = [int(e["id"]) for e in events if e["id"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[-1] == {"id": None, "event": "done", "data": str(reply_id)}


async def test_stream_resumes_after_position_without_duplicates(client, fake_upstream):
    tokens = [f"t{i:02d} " for i in range(30)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.02))
    hub = client.app.extensions["generations"].hub
    snapshot = await wait_until(lambda: _snapshot_with(hub, reply_id, 10))
    # What a reloaded page shows, then what its stream adds: exactly the whole reply.
    raw = await (await client.get(f"/messages/{reply_id}/stream?after={snapshot.seq}")).get_data(
        as_text=True)
    assert snapshot.text + token_text(parse_sse(raw)) == "".join(tokens)


async def _snapshot_with(hub, message_id, at_least):
    snapshot = await hub.snapshot(message_id)
    return snapshot if snapshot and snapshot.seq >= at_least else None


async def test_last_event_id_header_resumes_like_after(client, fake_upstream):
    tokens = ["a", "b", "c", "d"]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.05))
    await wait_until(lambda: _snapshot_with(client.app.extensions["generations"].hub, reply_id, 2))
    raw = await (await client.get(f"/messages/{reply_id}/stream",
                                  headers={"Last-Event-ID": "2"})).get_data(as_text=True)
    assert token_text(parse_sse(raw)) == "cd"


async def test_stream_of_finished_reply_sends_only_the_final_frame(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Tokens(["done"]))
    await finished(reply_id)
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    assert len(events) == 2 and events[1]["event"] == "done"
    assert soup(events[0]["data"]).select_one(".message-content").get_text(strip=True) == "done"


@pytest.mark.config(SSE_COALESCE=0.1)
async def test_tokens_are_coalesced_into_fewer_frames(client, fake_upstream):
    tokens = [f"c{i} " for i in range(60)]
    # 60 tokens over 0.3 s; ttft lets the stream open before the first one.
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, ttft=0.3, interval=0.005))
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream?after=0"))
                       .get_data(as_text=True))
    frames = [e for e in events if e["id"] and e["event"] is None][:-1]
    assert token_text(events) == "".join(tokens)
    # About one frame per 0.1 s window (4 or 5 here); a quarter of the tokens leaves room for
    # a slow machine and still fails if each token got its own frame.
    assert 1 <= len(frames) <= len(tokens) // 4
    # Each frame's id is the position after its tokens, so a resume never repeats one.
    assert int(frames[-1]["id"]) == len(tokens)


@pytest.mark.config(RESPONSE_TIMEOUT=0.3)
async def test_a_stream_outlives_quarts_response_timeout(client, fake_upstream):
    tokens = [f"slow{i} " for i in range(12)]
    # 12 tokens, 0.06 s apart, after 0.06 s: the reply takes about 0.72 s, over twice the
    # timeout that Quart would otherwise apply to the whole response.
    loop = asyncio.get_running_loop()
    # From before the POST: the reply starts streaming upstream as soon as it is sent, so a
    # slow POST (PostgreSQL on a busy machine) would otherwise eat into the 0.72 s.
    started = loop.time()
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, ttft=0.06, interval=0.06))
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream?after=0"))
                       .get_data(as_text=True))
    assert loop.time() - started > 0.6
    assert token_text(events) == "".join(tokens)
    assert events[-1] == {"id": None, "event": "done", "data": str(reply_id)}
    assert (await finished(reply_id)).status == Status.COMPLETE


async def test_reply_survives_the_browser_disconnecting(client, fake_upstream):
    tokens = [f"w{i} " for i in range(20)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.02))
    async with client.request(f"/messages/{reply_id}/stream?after=0") as connection:
        await connection.send_complete()
        first = await connection.receive()
        assert first.startswith(b"id: ")
        await connection.disconnect()
    reply = await finished(reply_id)
    assert reply.status == Status.COMPLETE and reply.content == "".join(tokens)


async def test_keepalive_comments_while_the_model_is_silent(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Stall(after_tokens=["x"], seconds=2))
    async with client.request(f"/messages/{reply_id}/stream?after=0") as connection:
        await connection.send_complete()
        received = b""
        while b": ping" not in received:
            received += await asyncio.wait_for(connection.receive(), 3)
        await connection.disconnect()


async def test_stop_keeps_partial_text_and_marks_it_stopped(client, fake_upstream):
    tokens = [f"s{i} " for i in range(200)]
    reply_id = await start_reply(client, fake_upstream, Tokens(tokens, interval=0.02))
    await wait_until(lambda: _snapshot_with(client.app.extensions["generations"].hub, reply_id, 3))
    response = await CsrfClient(client).post(f"/messages/{reply_id}/stop")
    assert response.status_code == 204
    reply = await finished(reply_id)
    assert reply.status == Status.STOPPED
    assert reply.content and "".join(tokens).startswith(reply.content)
    assert reply.tokens_estimated is True
    # The upstream connection was closed, not left to run.
    await fake_upstream.wait_for_idle_async(5)
    final = final_frame(parse_sse(await (await client.get(f"/messages/{reply_id}/stream"))
                                  .get_data(as_text=True)))
    assert "Stopped" in soup(final).get_text()


@pytest.mark.parametrize(("reply", "expected"), [
    (HttpError(401, {"error": {"code": 401, "message": "Missing Authentication header"}}),
     "Missing Authentication header"),
    (HttpError(402, {"error": {"code": 402, "message": "Insufficient credits"}}),
     "Insufficient credits"),
    (HttpError(429, {"error": {"code": 429, "message": "Rate limit exceeded"}},
               {"Retry-After": "60"}), "Rate limit exceeded"),
    (HttpError(503, b"<html>bad gateway</html>"), "503"),
])
async def test_upstream_http_error_ends_the_reply_with_a_clear_error(client, fake_upstream, reply,
                                                                     expected):
    reply_id = await start_reply(client, fake_upstream, reply)
    message = await finished(reply_id)
    assert message.status == Status.ERROR and expected in message.error
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    final = soup(final_frame(events))
    assert expected in final.select_one(".message-status.error").get_text()
    assert final.select_one(".retry-btn")["hx-post"] == f"/messages/{reply_id}/retry"


@pytest.mark.parametrize(("reply", "expected"), [
    (HttpError(429, {"error": {"code": 429, "message": "Rate limit exceeded"}},
               {"Retry-After": "30"}),
     "Rate limited by the provider: Rate limit exceeded; try again in 30 s."),
    (HttpError(429, b"", {"Retry-After": "90"}),
     "Rate limited by the provider; try again in 1 min 30 s."),
    (HttpError(503, {"error": {"code": 503, "message": "No instances available."}},
               {"Retry-After": "120"}),
     "No instances available; try again in 2 min."),
    (HttpError(503, b"", {"Retry-After": "0"}),
     "Upstream returned HTTP 503 (Service Unavailable); try again now."),
])
async def test_retry_after_tells_the_person_when_to_try_again(client, fake_upstream, reply,
                                                              expected):
    reply_id = await start_reply(client, fake_upstream, reply)
    message = await finished(reply_id)
    assert message.status == Status.ERROR and message.error == expected
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    status = soup(final_frame(events)).select_one(".message-status.error")
    assert status.get_text(" ", strip=True) == f"{expected} Retry"


@pytest.mark.parametrize("reply", [
    InBandError(after_tokens=["Once", " upon"], code=502),
    InBandError(after_tokens=["Once", " upon"], code="server_error", with_choices=False),
    Drop(after_tokens=["Once", " upon"]),
])
async def test_failure_mid_stream_keeps_the_partial_text(client, fake_upstream, reply):
    reply_id = await start_reply(client, fake_upstream, reply)
    message = await finished(reply_id)
    assert message.status == Status.ERROR
    assert message.content == "Once upon"
    assert message.error


@pytest.mark.parametrize("usage", [True, False], ids=["with-usage", "no-usage"])
async def test_stream_ending_without_done_or_finish_reason_is_marked_cut_short(
        client, fake_upstream, usage):
    # finish_reason "" is no finish at all, and done=False leaves out [DONE]: the body ends
    # cleanly (terminating chunk sent) without the model ever saying it had finished.
    reply_id = await start_reply(client, fake_upstream,
                                 Tokens(["Half", " a", " thought"], finish_reason="",
                                        done=False, usage=usage))
    message = await finished(reply_id)
    assert message.status == Status.ERROR and "cut the reply short" in message.error
    assert message.content == "Half a thought"
    assert message.tokens_estimated is not usage
    final = soup(final_frame(parse_sse(await (await client.get(f"/messages/{reply_id}/stream"))
                                       .get_data(as_text=True))))
    assert final.select_one(".message-content").get_text(strip=True) == "Half a thought"
    assert "cut the reply short" in final.select_one(".message-status.error").get_text()
    assert final.select_one(".retry-btn") is not None


@pytest.mark.parametrize(("reply", "expected"), [
    (Tokens([]), "The model finished without returning any text."),
    (Tokens([" ", "\n"]), "The model finished without returning any text."),
    (Tokens([], finish_reason="content_filter"),
     "The provider's content filter withheld the reply; no text was returned."),
    (Tokens([], finish_reason="length"),
     "The model reached its length limit before writing any text."),
])
async def test_reply_without_text_is_an_error_not_a_blank_complete_bubble(client, fake_upstream,
                                                                          reply, expected):
    reply_id = await start_reply(client, fake_upstream, reply)
    message = await finished(reply_id)
    assert (message.status, message.error) == (Status.ERROR, expected)


async def test_in_band_error_before_first_token(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, InBandError(after_tokens=[], code=429,
                                                                    message="Rate limit exceeded"))
    message = await finished(reply_id)
    assert message.status == Status.ERROR and "Rate limit exceeded" in message.error
    assert message.content == ""


@pytest.mark.config(UPSTREAM_READ_TIMEOUT=0.3)
async def test_read_timeout_ends_the_reply_with_an_error(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream,
                                 Stall(after_tokens=["par", "tial"], seconds=5))
    message = await finished(reply_id)
    assert message.status == Status.ERROR and "stopped responding" in message.error
    assert message.content == "partial"
    reply_id = await start_reply(client, fake_upstream, Hang(seconds=5))
    message = await finished(reply_id)
    assert message.status == Status.ERROR


# Port 9 on loopback: nothing listens, the connection is refused at once.
@pytest.mark.config(OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1")
async def test_connect_failure_ends_the_reply_with_an_error(client):
    _, reply_id = new_id(await (await send(client, "hello")).get_data(as_text=True))
    message = await finished(reply_id)
    assert message.status == Status.ERROR and "connect" in message.error.lower()


@contextmanager
def listener_that_never_accepts():
    """Yield the port of a loopback listener whose accept queue is full, so a new connection
    hangs in SYN-SENT: Linux drops SYNs for a full queue (tcp_abort_on_overflow=0) instead of
    refusing them. Offline, this is how to make a connect time out for real."""
    server = socket.socket()
    queued = []
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(16):
            probe = socket.socket()
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break  # the queue is full: the next connection hangs too
            queued.append(probe)
        else:
            pytest.fail("could not fill the listener's accept queue")
        yield port
    finally:
        for sock in queued:
            sock.close()
        server.close()


async def test_connect_timeout_ends_the_reply_with_an_error_and_retry(app_config):
    from hyperchat import create_app

    with listener_that_never_accepts() as port:
        app = create_app({**app_config, "OPENROUTER_BASE_URL": f"http://127.0.0.1:{port}/api/v1",
                          "UPSTREAM_CONNECT_TIMEOUT": 0.3})
        async with app.test_app() as test_app:
            client = test_app.test_client()
            user_id, reply_id = new_id(await (await send(client, "still here?")).get_data(
                as_text=True))
            message = await finished(reply_id)
            assert message.status == Status.ERROR and message.content == ""
            assert message.error == "Could not reach the model provider (connection timed out)."
            user = await Message.get(id=user_id)
            assert user.content == "still here?" and user.status == Status.COMPLETE
            events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
                as_text=True))
            final = soup(events[0]["data"])
            assert "connection timed out" in final.select_one(".message-status.error").get_text()
            assert final.select_one(".retry-btn")["hx-post"] == f"/messages/{reply_id}/retry"
            upstream = test_app.app.extensions["generations"].upstream
            assert upstream.last_status is None  # no answer at all, as /health reports it


async def test_retry_starts_a_new_reply_and_keeps_the_failed_one(client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, InBandError(after_tokens=["part"]))
    await finished(reply_id)
    fake_upstream.enqueue(Tokens(["second", " try"]))
    response = await CsrfClient(client).post(f"/messages/{reply_id}/retry",
                                             headers={"HX-Request": "true"})
    assert response.status_code == 200
    new_id = int(soup(await response.get_data(as_text=True)).select_one("article")[
        "data-message-id"])
    assert (await finished(new_id)).content == "second try"
    old = await Message.get(id=reply_id)
    assert old.status == Status.ERROR and old.content == "part"
    # The failed reply is not sent as context.
    assert fake_upstream.requests[-1]["json"]["messages"] == [{"role": "user", "content": "hi"}]


async def test_shutdown_saves_partial_replies(app_config, fake_upstream):
    from hyperchat import create_app

    app = create_app(app_config)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        reply_id = await start_reply(client, fake_upstream,
                                     Tokens([f"x{i} " for i in range(100)], interval=0.05))
        await wait_until(lambda: _snapshot_with(test_app.app.extensions["generations"].hub,
                                                reply_id, 2))
    # The lifespan ended mid-reply; the partial text was saved with an explanation.
    app = create_app(app_config)
    async with app.test_app():
        message = await Message.get(id=reply_id)
        assert message.status == Status.ERROR and message.content.startswith("x0 x1 ")
        assert "shut down" in message.error


@pytest.mark.parametrize("path", ["/messages/999/stream", "/messages/999/stop"])
async def test_unknown_message_is_not_found(client, path):
    client = CsrfClient(client)
    method = client.get if path.endswith("stream") else client.post
    response = await method(path)
    assert response.status_code == 404


async def test_someone_elses_stream_and_stop_are_not_found(app, client, fake_upstream):
    reply_id = await start_reply(client, fake_upstream, Tokens(["a"] * 50, interval=0.02))
    stranger = app.test_client()
    assert (await stranger.get(f"/messages/{reply_id}/stream")).status_code == 404
    response = await CsrfClient(stranger).post(f"/messages/{reply_id}/stop")
    assert response.status_code == 404
    assert (await finished(reply_id)).status == Status.COMPLETE


async def test_final_frame_updates_the_sidebar_counts_and_the_running_total(client, fake_upstream):
    """The sidebar's token count and the header's total change when a reply ends, not on the
    next page load: the final frame carries both out of band."""
    reply_id = await start_reply(client, fake_upstream, Tokens(["four", " words"]))
    reply = await finished(reply_id)
    assert reply.prompt_tokens and reply.completion_tokens
    final = soup(final_frame(parse_sse(await (await client.get(
        f"/messages/{reply_id}/stream")).get_data(as_text=True))))
    stats = final.select_one("#sidebar-stats")
    assert stats["hx-swap-oob"] == "true"
    tokens = reply.prompt_tokens + reply.completion_tokens
    assert stats.select_one('[data-stat="tokens"]').get_text() == f"{tokens:,}"
    assert stats.select_one('[data-stat="messages"]').get_text() == "2"
    assert final.select_one("#conversation-usage") is not None
