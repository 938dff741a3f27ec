"""Tests for the fake upstream itself, through real httpx clients and raw sockets. Other tests
build on its bytes, its timing and its failure modes, so they are checked here first."""

import asyncio
import json
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.fake_upstream import (
    STREAMS_DIR,
    Drop,
    FakeUpstream,
    Fixture,
    Hang,
    HttpError,
    InBandError,
    Stall,
    Tokens,
)

ROOT = Path(__file__).resolve().parents[1]
STREAMS = STREAMS_DIR
SHARED_STREAMS = Path(__file__).resolve().parents[2] / "shared" / "streams"
SSE_FILES = sorted(p.name for p in STREAMS.glob("*.sse"))
REQUEST = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}],
           "stream": True, "stream_options": {"include_usage": True}}


@pytest.fixture
def up():
    with FakeUpstream() as server:
        yield server


def sse_events(raw: bytes) -> list[tuple[str, str]]:
    """A small SSE reader following openrouter-sse.md section 1: split the bytes on CRLF, LF
    or CR, then decode. Returns ("comment", text) and ("data", payload) pairs."""
    events, data = [], []
    for line in re.split(rb"\r\n|\n|\r", raw):
        if not line:
            if data:
                events.append(("data", "\n".join(data)))
                data = []
            continue
        text = line.decode("utf-8")
        if text.startswith(":"):
            events.append(("comment", text[1:].strip()))
        elif text.startswith("data:"):
            data.append(text[5:].removeprefix(" "))
    if data:
        events.append(("data", "\n".join(data)))
    return events


def data_payloads(raw: bytes) -> list:
    """The data events: parsed JSON (floats as Decimal, as the app parses costs), or the
    literal "[DONE]"."""
    out = []
    for kind, payload in sse_events(raw):
        if kind == "data":
            out.append(payload if payload == "[DONE]" else json.loads(payload,
                                                                       parse_float=Decimal))
    return out


def text_of(chunks: list) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in chunks if isinstance(c, dict) and c.get("choices"))


# --------------------------------------------------------------------------- Tokens


def test_default_reply_is_an_openrouter_shaped_stream(up):
    with httpx.Client() as client:
        r = client.post(f"{up.url}/chat/completions", json=REQUEST)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.headers["cache-control"] == "no-cache"

    events = sse_events(r.content)
    assert events[0] == ("comment", "OPENROUTER PROCESSING")
    chunks = data_payloads(r.content)
    role, *tokens, finish, usage, done = chunks
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [t["choices"][0]["delta"]["content"] for t in tokens] == ["Hello", " world", "!"]
    assert text_of(chunks) == "Hello world!"
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"]["prompt_tokens"] == 11
    assert usage["usage"]["completion_tokens"] == 3
    assert usage["usage"]["total_tokens"] == 14
    assert usage["usage"]["cost"] == Decimal("0.00001")
    assert b'"cost":0.00001,' in r.content  # the literal given, not 1e-05
    assert done == "[DONE]"
    # One generation id for all chunks, the same one as in the header.
    assert {c["id"] for c in chunks[:-1]} == {r.headers["x-generation-id"]}
    assert {c["model"] for c in chunks[:-1]} == {"openai/gpt-4o-mini"}
    assert {c["provider"] for c in chunks[:-1]} == {"OpenAI"}


def test_tokens_options_shape_the_stream(up):
    up.enqueue(Tokens(["亚", "\u2028", "é"], model="x/y-1", provider="DeepInfra", usage=False,
                      done=False, finish_reason="length", comments=3),
               Tokens(["a"], cost=None, prompt_tokens=5),
               Tokens(["b"], cost="3.8e-7"))
    with httpx.Client() as client:
        first = client.post(f"{up.url}/chat/completions", json=REQUEST).content
        no_cost = client.post(f"{up.url}/chat/completions", json=REQUEST).content
        exp_cost = client.post(f"{up.url}/chat/completions", json=REQUEST).content

    # Non-ASCII is raw UTF-8 (ensure_ascii=False), even U+2028, as OpenRouter sends it.
    assert "亚".encode() in first and "\u2028".encode() in first
    assert [e for e in sse_events(first) if e[0] == "comment"] == [("comment",
                                                                    "OPENROUTER PROCESSING")] * 3
    chunks = data_payloads(first)
    assert text_of(chunks) == "亚\u2028é"
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert "[DONE]" not in chunks and not any("usage" in c for c in chunks)
    assert {c["model"] for c in chunks} == {"x/y-1"}
    assert {c["provider"] for c in chunks} == {"DeepInfra"}

    usage = data_payloads(no_cost)[-2]["usage"]
    assert "cost" not in usage
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (5, 1, 6)
    assert b'"cost":3.8e-7,' in exp_cost


def test_tokens_ttft_and_interval_are_respected(up):
    up.enqueue(Tokens(["a", "b", "c"], ttft=0.3, interval=0.1))
    arrivals = []  # (seconds since request, bytes so far)
    with httpx.Client() as client:
        t0 = time.monotonic()
        with client.stream("POST", f"{up.url}/chat/completions", json=REQUEST) as r:
            received = b""
            for piece in r.iter_raw():
                received += piece
                arrivals.append((time.monotonic() - t0, received))

    def first_time(needle: bytes) -> float:
        return next(t for t, so_far in arrivals if needle in so_far)

    # Lower bounds only: the server may not be early, but a loaded machine may be late.
    assert first_time(b"OPENROUTER PROCESSING") < first_time(b'"content":"a"')
    assert first_time(b'"content":"a"') >= 0.28
    assert first_time(b'"content":"c"') >= 0.48
    assert text_of(data_payloads(received)) == "abc"


# --------------------------------------------------------------------------- Fixture


@pytest.mark.parametrize("name", SSE_FILES)
def test_fixture_is_replayed_byte_exactly(up, name):
    up.enqueue(Fixture(name), Fixture(name, chunk_size=7))
    with httpx.Client() as client:
        whole = client.post(f"{up.url}/chat/completions", json=REQUEST)
        chunked = client.post(f"{up.url}/chat/completions", json=REQUEST)
    expected = (STREAMS / name).read_bytes()
    assert whole.content == expected
    assert chunked.content == expected
    assert whole.headers["content-type"] == "text/event-stream"


def test_fixture_chunks_are_separate_http_chunks_with_delays(up):
    name = "a_openrouter_normal.sse"
    expected = (STREAMS / name).read_bytes()
    up.enqueue(Fixture(name, chunk_size=1000, delay=0.05))
    # A raw socket shows the chunked framing itself, which httpx hides.
    with socket.create_connection((up.host, up.port)) as sock:
        body = json.dumps(REQUEST).encode()
        sock.sendall(b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%b" % (len(body), body))
        t0 = time.monotonic()
        raw = b""
        while piece := sock.recv(65536):
            raw += piece
        elapsed = time.monotonic() - t0
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    sizes = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        sizes.append(size)
        if size == 0:
            break
        rest = rest[size + 2:]
    assert sizes == [1000, 1000, 1000, 1000, len(expected) - 4000, 0]
    assert elapsed >= 0.18  # four 0.05 s delays


def test_unknown_fixture_fails_when_scripted():
    with pytest.raises(FileNotFoundError):
        Fixture("no_such_capture.sse")


@pytest.mark.skipif(not SHARED_STREAMS.is_dir(), reason="no shared/streams beside this clone")
def test_stream_captures_are_byte_identical_to_the_shared_ones():
    shared = {p.name: p.read_bytes() for p in SHARED_STREAMS.iterdir()}
    ours = {p.name: p.read_bytes() for p in STREAMS.iterdir()}
    assert ours == shared


# --------------------------------------------------------------------------- errors


HTTP_ERRORS = [e for group in ("openrouter", "openai")
               for e in json.loads((STREAMS / "http_errors.json").read_text())[group]]


@pytest.mark.parametrize("case", HTTP_ERRORS, ids=lambda c: str(c["status"]))
def test_http_error_status_headers_and_body(up, case):
    up.enqueue(HttpError(case["status"], case["body"], case.get("headers")))
    with httpx.Client() as client:
        r = client.post(f"{up.url}/chat/completions", json=REQUEST)
    assert r.status_code == case["status"]
    assert r.headers["content-type"] == "application/json"
    assert r.json() == case["body"]
    for name, value in (case.get("headers") or {}).items():
        assert r.headers[name] == value


def test_http_error_with_raw_bytes_body(up):
    up.enqueue(HttpError(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}))
    with httpx.Client() as client:
        r = client.post(f"{up.url}/chat/completions", json=REQUEST)
    assert (r.status_code, r.headers["content-type"]) == (502, "text/html")
    assert r.content == b"<html>Bad gateway</html>"


def test_in_band_error_ends_the_stream_after_an_error_event(up):
    up.enqueue(InBandError(["Once", " upon"]),
               InBandError([], code=None, with_choices=False),
               InBandError(["x"], code="server_error", message="boom"))
    with httpx.Client() as client:
        bodies = [client.post(f"{up.url}/chat/completions", json=REQUEST) for _ in range(3)]
    assert all(b.status_code == 200 for b in bodies)

    chunks = data_payloads(bodies[0].content)
    assert text_of(chunks) == "Once upon"
    assert chunks[-1]["error"] == {"code": 502, "message": "Provider disconnected unexpectedly"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"
    assert "[DONE]" not in chunks and not any("usage" in c for c in chunks)

    bare = data_payloads(bodies[1].content)[-1]
    assert bare["error"] == {"message": "Provider disconnected unexpectedly"}
    assert "choices" not in bare

    assert data_payloads(bodies[2].content)[-1]["error"] == {"code": "server_error",
                                                             "message": "boom"}


def test_drop_closes_the_connection_mid_stream(up):
    up.enqueue(Drop(["Hel", "lo"], interval=0.01))
    received = b""
    with httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            with client.stream("POST", f"{up.url}/chat/completions", json=REQUEST) as r:
                assert r.status_code == 200
                for piece in r.iter_raw():
                    received += piece
    assert text_of(data_payloads(received)) == "Hello"
    assert b"[DONE]" not in received


def test_drop_with_reset(up):
    up.enqueue(Drop(["a"], reset=True))
    with httpx.Client() as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            with client.stream("POST", f"{up.url}/chat/completions", json=REQUEST) as r:
                for _ in r.iter_raw():
                    pass


def test_stall_triggers_read_timeout_and_the_server_notices_the_client_leaving(up):
    up.enqueue(Stall(["Hi"], seconds=30))
    received = b""
    t0 = time.monotonic()
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as client:
        with pytest.raises(httpx.ReadTimeout):
            with client.stream("POST", f"{up.url}/chat/completions", json=REQUEST) as r:
                assert r.status_code == 200  # headers came before the silence
                for piece in r.iter_raw():
                    received += piece
    assert time.monotonic() - t0 < 5
    assert text_of(data_payloads(received)) == "Hi"
    # httpx closed the connection on timeout; the stalled response ends with it.
    up.wait_for_idle(2)
    assert up.disconnects == 1


def test_short_stall_then_finishes_normally(up):
    up.enqueue(Stall(seconds=0.2))
    with httpx.Client() as client:
        t0 = time.monotonic()
        r = client.post(f"{up.url}/chat/completions", json=REQUEST)
    assert time.monotonic() - t0 >= 0.18
    assert data_payloads(r.content)[-1] == "[DONE]"


def test_hang_never_starts_the_response(up):
    up.enqueue(Hang(30), Hang(0.1))
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"{up.url}/chat/completions", json=REQUEST)
        # When the hang ends, the connection closes without a response.
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(f"{up.url}/chat/completions", json=REQUEST)


def test_exit_interrupts_hang_and_stall():
    errors: list[BaseException] = []

    def call(client: httpx.Client) -> None:
        try:
            with client.stream("POST", f"{upstream.url}/chat/completions", json=REQUEST) as r:
                r.read()
        except httpx.HTTPError as exc:
            errors.append(exc)

    t0 = time.monotonic()
    with httpx.Client(timeout=60) as client:
        with FakeUpstream() as upstream:
            upstream.enqueue(Hang(60), Stall(["x"], seconds=60))
            threads = [threading.Thread(target=call, args=(client,)) for _ in range(2)]
            for t in threads:
                t.start()
            upstream.wait_for_requests(2)
            time.sleep(0.1)  # let both reach their sleep
            assert upstream.active_streams == 2
        # Join before the client closes, or closing its pool would race the reading threads.
        for t in threads:
            t.join(5)
    assert time.monotonic() - t0 < 5
    assert len(errors) == 2 and all(isinstance(e, httpx.RemoteProtocolError) for e in errors)


# --------------------------------------------------------------------------- bookkeeping


def test_requests_are_recorded_with_parsed_json(up):
    with httpx.Client() as client:
        client.post(f"{up.url}/chat/completions?x=1", json=REQUEST,
                    headers={"Authorization": "Bearer k", "X-Title": "hyperchat"})
    up.wait_for_requests(1)
    (req,) = up.requests
    assert req["method"] == "POST"
    assert req["path"] == "/api/v1/chat/completions"
    assert req["query"] == "x=1"
    assert req["headers"]["authorization"] == "Bearer k"
    assert req["headers"]["x-title"] == "hyperchat"
    assert req["headers"]["content-type"] == "application/json"
    assert req["json"] == REQUEST
    with pytest.raises(TimeoutError):
        up.wait_for_requests(2, timeout=0.1)


def test_replies_are_consumed_fifo_then_default(up):
    up.enqueue(HttpError(429, {"error": {"code": 429, "message": "Rate limit exceeded"}}),
               Tokens(["second"]))
    with httpx.Client() as client:
        statuses_and_texts = []
        for _ in range(3):
            r = client.post(f"{up.url}/chat/completions", json=REQUEST)
            text = text_of(data_payloads(r.content)) if r.status_code == 200 else None
            statuses_and_texts.append((r.status_code, text))
    assert statuses_and_texts == [(429, None), (200, "second"), (200, "Hello world!")]


def test_enqueue_rejects_non_replies(up):
    with pytest.raises(TypeError):
        up.enqueue({"status": 200})


def test_models_and_unknown_paths(up):
    with httpx.Client() as client:
        models = client.get(f"{up.url}/models")
        assert models.status_code == 200
        assert models.headers["content-type"] == "application/json"
        assert models.content == (STREAMS / "models.json").read_bytes()

        up.models_reply = HttpError(503, {"error": {"code": 503, "message": "down"}})
        assert client.get(f"{up.url}/models").status_code == 503

        missing = client.get(f"{up.url}/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
        assert client.get(f"{up.url}/chat/completions").status_code == 405
    assert [r["path"] for r in up.requests] == ["/api/v1/models", "/api/v1/models",
                                                "/api/v1/nope", "/api/v1/chat/completions"]


def test_sequential_requests_reuse_one_pooled_connection(up):
    with httpx.Client() as client:
        for _ in range(2):
            with client.stream("POST", f"{up.url}/chat/completions", json=REQUEST) as r:
                assert text_of(data_payloads(r.read())) == "Hello world!"
        assert client.get(f"{up.url}/models").status_code == 200
    assert [r["conn"] for r in up.requests] == [1, 1, 1]


async def test_async_client_on_another_loop_and_many_concurrent_streams(up):
    # ttft leaves time to open all 200 connections before the first stream ends.
    up.default = Tokens(["t"] * 20, ttft=1.5, interval=0.01)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=250)
    peak = 0

    async def one(client: httpx.AsyncClient) -> str:
        r = await client.post(f"{up.url}/chat/completions", json=REQUEST)
        return text_of(data_payloads(r.content))

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        t0 = time.monotonic()
        calls = asyncio.gather(*(one(client) for _ in range(200)))
        while not calls.done():
            peak = max(peak, up.active_streams)
            await asyncio.sleep(0.01)
        texts = await calls
        elapsed = time.monotonic() - t0
        # Pooled: a second round reuses the same 200 connections.
        await up.wait_for_requests_async(200)
        up.default = Tokens(["again"])
        assert await one(client) == "again"
    assert texts == ["t" * 20] * 200
    assert peak == 200  # all streams were in flight at once
    assert elapsed < 10
    assert len({r["conn"] for r in up.requests}) == 200
    await up.wait_for_idle_async()


# --------------------------------------------------------------------------- CLI


def test_cli_serves_a_fixed_reply_until_terminated():
    cmd = [sys.executable, "-m", "tests.fake_upstream", "--port", "0", "--ttft", "0.05",
           "--interval", "0.001", "--tokens", "20"]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                assert sel.select(timeout=15), "no READY line"
            line = proc.stdout.readline()
            assert line.startswith("READY http://127.0.0.1:"), line
            url = line.split()[1]
            with httpx.Client() as client:
                for _ in range(2):
                    chunks = data_payloads(client.post(f"{url}/chat/completions",
                                                       json=REQUEST).content)
                    assert text_of(chunks) == "Lorem ipsum dolor sit amet, consectetur " \
                        "adipiscing elit.Lorem ipsum dolor sit amet, consectetur adipiscing " \
                        "elit.Lorem ipsum dolor sit"
                    assert chunks[-2]["usage"]["completion_tokens"] == 20
                    assert chunks[-1] == "[DONE]"
        finally:
            proc.terminate()
            assert proc.wait(10) == 0
