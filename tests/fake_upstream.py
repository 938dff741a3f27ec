"""A fake OpenAI-compatible (OpenRouter-shaped) upstream on a real loopback socket.

Why a real server rather than an httpx MockTransport: the app's own httpx pool, its
timeouts and its chunked decoding must be exercised, Playwright drives a browser against a
real app process, and the benchmark runs this in a separate process. Why raw
`asyncio.start_server` rather than a web framework: we write HTTP/1.1 by hand, so the bytes
and their timing are exactly what the test scripted. A framework would buffer or re-chunk
the body, and it would not let us drop a connection in the middle of a body.

The server runs its own event loop in a daemon thread. The same object therefore works from
sync tests, from async tests (whose loop is a different one), from browser tests and from a
benchmark.

    with FakeUpstream() as up:
        up.enqueue(Tokens(["Hi", "!"], ttft=0.1), HttpError(429, {...}, {"Retry-After": "1"}))
        ... point the app at up.url ...
        up.wait_for_requests(2)
        assert up.requests[0]["json"]["stream"] is True

Command-line mode for benchmarks (serves one fixed Tokens reply forever):

    python -m tests.fake_upstream --port 0 --ttft 0.2 --interval 0.02 --tokens 100
    -> prints "READY http://127.0.0.1:PORT/api/v1"
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import signal
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

# Byte-exact upstream captures, copied from the team's shared/streams so that a clean clone
# carries its own test data (test_fake_upstream checks the copies still match when it is there).
STREAMS_DIR = Path(__file__).resolve().parent / "streams"
API_PREFIX = "/api/v1"
COMMENT = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
# A disconnected client is only noticed when we write or wake up. Long sleeps are cut into
# slices of this length so that a Stall or Hang whose client went away ends quickly.
_POLL = 0.05
# Not in http.HTTPStatus; these are the phrases Cloudflare and OpenRouter send.
_EXTRA_REASONS = {524: "A Timeout Occurred", 529: "Site is overloaded"}


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class Fixture:
    """Replay STREAMS_DIR/<name> byte for byte. With chunk_size, send it in pieces of that many
    bytes, one HTTP chunk each, with `delay` seconds between pieces. A `.json` file is served
    as application/json, anything else as text/event-stream."""

    name: str
    chunk_size: int | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        # Fail in the test that scripts the reply, not later inside the server thread.
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")

    @property
    def path(self) -> Path:
        return STREAMS_DIR / self.name


@dataclass(frozen=True)
class Tokens:
    """A normal OpenRouter stream: `comments` keep-alive comments, a role chunk (content ""),
    one chunk per token, a finish chunk, a usage chunk with empty choices (unless usage=False),
    then `data: [DONE]` (unless done=False). `ttft` is the delay before the role chunk and the
    first token. `interval` is the spacing between tokens (token i is due at ttft + i*interval
    after the headers, so lag does not add up). `cost=None` leaves out `usage.cost`,
    as OpenAI does. `cost` is written verbatim as a JSON number, so "3.8e-7" stays as it is.
    `reasoning`: chunks of `delta.reasoning` sent before the tokens (and spaced like them), as
    a reasoning model does (d_openrouter_reasoning.sse)."""

    tokens: Sequence[str]
    model: str = "openai/gpt-4o-mini"
    ttft: float = 0.0
    interval: float = 0.0
    usage: bool = True
    prompt_tokens: int = 11
    cost: str | None = "0.00001"
    provider: str = "OpenAI"
    done: bool = True
    finish_reason: str = "stop"
    comments: int = 1
    reasoning: Sequence[str] = ()


@dataclass(frozen=True)
class HttpError:
    """A plain JSON response sent before any SSE, as OpenRouter does for pre-stream errors.
    A dict body is JSON-encoded and a bytes body is sent as is. `headers` (for example
    Retry-After) are added, and can override Content-Type. Also usable with status 200 for a
    custom /models body."""

    status: int
    body: dict | bytes
    headers: dict | None = None


@dataclass(frozen=True)
class InBandError:
    """A 200 stream: a comment, the role chunk, the tokens, then one data event with a top-level
    `error` (`code` is left out when None). With with_choices, the event also has
    choices[0].finish_reason "error". The body then ends cleanly, with no usage and no [DONE].
    `reasoning` chunks come before the tokens."""

    after_tokens: Sequence[str]
    code: int | str | None = 502
    message: str = "Provider disconnected unexpectedly"
    with_choices: bool = True
    model: str = "openai/gpt-4o-mini"
    provider: str = "OpenAI"
    reasoning: Sequence[str] = ()


@dataclass(frozen=True)
class Drop:
    """A 200 stream that sends the role chunk and the tokens, then closes the TCP connection
    without the terminating zero-length chunk. httpx reports this as RemoteProtocolError
    (incomplete chunked read). With reset=True the connection is reset (RST) instead of closed
    (FIN). httpx then usually raises ReadError, and tokens the client had not read yet may be
    lost."""

    after_tokens: Sequence[str]
    interval: float = 0.0
    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Send the 200 headers (and, if after_tokens is not empty, the role chunk and the tokens),
    then go silent for `seconds` to set off the client's read timeout. If the client is still
    there afterwards, the stream finishes normally (finish, usage, [DONE]). It ends early
    if the client disconnects or the server stops. `reasoning` chunks come before the tokens."""

    after_tokens: Sequence[str] = field(default_factory=list)
    seconds: float = 30.0
    reasoning: Sequence[str] = ()


@dataclass(frozen=True)
class Hang:
    """Read the request and never send a status line. After `seconds` the connection is closed
    without a response (httpx: RemoteProtocolError "Server disconnected"). It ends early if
    the client disconnects or the server stops."""

    seconds: float = 30.0


Reply = Fixture | Tokens | HttpError | InBandError | Drop | Stall | Hang
_REPLY_TYPES = (Fixture, Tokens, HttpError, InBandError, Drop, Stall, Hang)


class _ClientGone(ConnectionError):
    """The client closed its side while we were still streaming (cancellation, timeout)."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _EXTRA_REASONS.get(status, "Unknown")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_bytes(obj: Any) -> bytes:
    # Compact separators and raw UTF-8, like the captured OpenRouter bytes. A lone surrogate
    # (a token cut inside an emoji's UTF-16 pair) has no UTF-8: it goes out as the `\ud800`
    # escape, as JavaScript's JSON.stringify writes it. NUL is escaped (`\u0000`) by json.
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


class _Completion:
    """Builds the SSE data events of one completion. Every chunk carries the same id and
    created time, as real ones do."""

    def __init__(self, model: str, provider: str):
        created = int(time.time())
        self.id = f"gen-{created}-{uuid.uuid4().hex[:20]}"
        # Key order copies a_openrouter_normal.sse.
        self.head = {"id": self.id, "provider": provider, "model": model,
                     "object": "chat.completion.chunk", "created": created}

    @staticmethod
    def event(obj: dict) -> bytes:
        return b"data: " + _json_bytes(obj) + b"\n\n"

    def delta(self, content: str, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": {"role": "assistant", "content": content},
                  "finish_reason": finish_reason, "native_finish_reason": finish_reason,
                  "logprobs": None}
        return self.event({**self.head, "choices": [choice]})

    def reasoning(self, text: str) -> bytes:
        # The shape of d_openrouter_reasoning.sse (without its reasoning_details).
        choice = {"index": 0, "delta": {"role": "assistant", "content": "", "reasoning": text},
                  "finish_reason": None, "native_finish_reason": None, "logprobs": None}
        return self.event({**self.head, "choices": [choice]})

    def usage(self, prompt_tokens: int, completion_tokens: int, cost: str | None) -> bytes:
        usage: dict[str, Any] = {"prompt_tokens": prompt_tokens,
                                 "completion_tokens": completion_tokens,
                                 "total_tokens": prompt_tokens + completion_tokens}
        sentinel = "__FAKE_UPSTREAM_COST__"
        if cost is not None:
            usage["cost"] = sentinel
        usage["is_byok"] = False
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {"reasoning_tokens": 0, "image_tokens": 0}
        data = self.event({**self.head, "choices": [], "usage": usage})
        if cost is not None:
            # Write the cost as the exact number literal given. json.dumps(float) would turn
            # "0.00001" into 1e-05.
            json.loads(cost)  # must be a valid JSON number
            data = data.replace(f'"{sentinel}"'.encode(), cost.encode())
        return data

    def error(self, code: int | str | None, message: str, with_choices: bool) -> bytes:
        # Same shape as c_openrouter_midstream_error.sse and the OpenRouter docs example.
        error: dict[str, Any] = {} if code is None else {"code": code}
        error["message"] = message
        obj: dict[str, Any] = {**self.head, "error": error}
        if with_choices:
            obj["choices"] = [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]
        return self.event(obj)


# --------------------------------------------------------------------------- server


class FakeUpstream:
    """A real HTTP/1.1 server on 127.0.0.1 with an ephemeral port, running in a daemon thread.

    Routes, under /api/v1:
      POST /chat/completions  -> next enqueued Reply, or `default` when the queue is empty
      GET  /models            -> STREAMS_DIR/models.json, or `models_reply` if it is set
      POST /audio/transcriptions -> {"text": transcript} (OpenAI's shape) for a multipart body
                                 with a file part, or `transcription_reply` if it is set
      anything else           -> 404 JSON error (405 for a wrong method on a known path)
    Connections are kept alive: httpx pools reuse them, and each request records a `conn`
    number, so tests can check that a connection was reused.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record_requests: bool = True):
        self.host = host
        self.port = port
        self.url = ""  # set by start(): http://127.0.0.1:PORT/api/v1
        # Every received request, in order: {"method", "path", "query", "headers" (lower-case
        # names), "json" (parsed body or None), "body" (raw bytes), "conn" (connection number)}.
        # The benchmark turns recording off so that memory stays flat.
        self.requests: list[dict] = []
        self.record_requests = record_requests
        self.default: Reply = Tokens(["Hello", " world", "!"])
        self.models_reply: Reply | None = None
        self.transcript = "This is the transcript of the recording."
        self.transcription_reply: Reply | None = None
        # Chat-completions requests being answered right now, from the request being read until
        # the response ends (Hang included). Goes back to 0 when the app stops streaming.
        self.active_streams = 0
        # Chat-completions responses cut short because the client went away.
        self.disconnects = 0
        # Unexpected exceptions inside the server. __exit__ re-raises the first one, so that a
        # bug in the fake does not look like a bug in the app.
        self.errors: list[BaseException] = []

        self._queue: deque[Reply] = deque()
        self._cond = threading.Condition()  # guards `requests` for wait_for_requests
        self._conn_ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # ---- lifecycle (called from the test's thread)

    def __enter__(self) -> FakeUpstream:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()
        if self.errors and exc_type is None:
            raise RuntimeError(f"fake upstream failed: {self.errors[0]!r}") from self.errors[0]

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fake-upstream",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake upstream did not start")
        if not self.url:
            raise RuntimeError("fake upstream failed to start") from (self.errors or [None])[0]

    def stop(self) -> None:
        """Close the listener and every connection, including Stall and Hang ones, then join."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        with suppress(RuntimeError):  # the loop may have closed on its own just now
            loop.call_soon_threadsafe(self._stop.set)
        thread.join(10)
        if thread.is_alive():
            raise RuntimeError("fake upstream thread did not stop")

    # ---- scripting and inspection (thread-safe)

    def enqueue(self, *responses: Reply) -> None:
        for reply in responses:
            if not isinstance(reply, _REPLY_TYPES):
                raise TypeError(f"not a Reply: {reply!r}")
        self._queue.extend(responses)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> None:
        """Block until at least n requests have been received. Don't call this from a coroutine
        that shares a loop with the app under test: it would block that loop. Use
        wait_for_requests_async there."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(f"expected {n} requests, got {len(self.requests)}")

    async def wait_for_requests_async(self, n: int, timeout: float = 5.0) -> None:
        await self._poll_async(lambda: len(self.requests) >= n, timeout,
                               lambda: f"expected {n} requests, got {len(self.requests)}")

    def wait_for_idle(self, timeout: float = 5.0) -> None:
        """Block until no chat-completions response is in progress (for example after the app
        cancelled its stream)."""
        deadline = time.monotonic() + timeout
        while self.active_streams:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.active_streams} streams still active")
            time.sleep(0.01)

    async def wait_for_idle_async(self, timeout: float = 5.0) -> None:
        await self._poll_async(lambda: self.active_streams == 0, timeout,
                               lambda: f"{self.active_streams} streams still active")

    @staticmethod
    async def _poll_async(done, timeout: float, describe) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(describe())
            await asyncio.sleep(0.01)

    # ---- event loop thread

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._main(ready))
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.errors.append(exc)
        finally:
            ready.set()

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # A large backlog, so that a burst of 200+ benchmark connections is not refused or
        # delayed by SYN retries.
        server = await asyncio.start_server(self._serve_connection, self.host, self.port,
                                            backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}{API_PREFIX}"
        ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            # abort() and not close(): close() would wait to flush data to a client that may not
            # be reading (Stall), and it would leave a socket open when the loop closes
            # (ResourceWarning).
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        conn_id = next(self._conn_ids)
        graceful = True
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break  # the client closed an idle keep-alive connection
                request["conn"] = conn_id
                if self.record_requests:
                    with self._cond:
                        self.requests.append(request)
                        self._cond.notify_all()
                keep_alive = await self._dispatch(request, reader, writer)
                if not keep_alive or request["headers"].get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            graceful = False  # the client went away mid-request or mid-response: nothing to do
        except asyncio.CancelledError:
            # stop() cancelled us. Don't re-raise: on 3.11 the done-callback of start_server
            # calls task.exception() and would log a spurious CancelledError.
            graceful = False
        except Exception as exc:  # a bug in the fake: surface it in __exit__
            graceful = False
            self.errors.append(exc)
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            if graceful:
                writer.close()  # flush what is buffered, then FIN
            else:
                writer.transport.abort()
            # Let connection_lost run, so the transport is really closed before the loop goes.
            with suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 5)
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def _read_request(self, reader: asyncio.StreamReader) -> dict | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise
            return None
        lines = head.decode("latin-1").strip("\r\n").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked_body(reader)
        else:
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        path, _, query = target.partition("?")
        return {"method": method, "path": path, "query": query, "headers": headers,
                "json": parsed, "body": body}

    @staticmethod
    async def _read_chunked_body(reader: asyncio.StreamReader) -> bytes:
        # httpx sends Content-Length for json=..., but a streamed upload would come chunked.
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                # Skip optional trailers, up to the blank line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)  # CRLF after the chunk data

    async def _dispatch(self, request: dict, reader, writer) -> bool:
        """Answer one request. Return False if the connection must not be reused."""
        method, path = request["method"], request["path"]
        if path == f"{API_PREFIX}/chat/completions":
            if method != "POST":
                return await self._reply(_method_not_allowed(method, path), reader, writer)
            reply = self._queue.popleft() if self._queue else self.default
            self.active_streams += 1
            try:
                return await self._reply(reply, reader, writer)
            except ConnectionError:
                self.disconnects += 1
                raise
            finally:
                self.active_streams -= 1
        if path == f"{API_PREFIX}/models":
            if method != "GET":
                return await self._reply(_method_not_allowed(method, path), reader, writer)
            if self.models_reply is not None:
                return await self._reply(self.models_reply, reader, writer)
            body = (STREAMS_DIR / "models.json").read_bytes()
            return await self._reply(HttpError(200, body), reader, writer)
        if path == f"{API_PREFIX}/audio/transcriptions":
            if method != "POST":
                return await self._reply(_method_not_allowed(method, path), reader, writer)
            if self.transcription_reply is not None:
                return await self._reply(self.transcription_reply, reader, writer)
            content_type = request["headers"].get("content-type", "")
            if not content_type.startswith("multipart/form-data") or \
                    b'name="file"' not in request["body"]:
                error = {"error": {"code": 400, "message": "Send the audio in a part named file"}}
                return await self._reply(HttpError(400, error), reader, writer)
            return await self._reply(HttpError(200, {"text": self.transcript}), reader, writer)
        error = {"error": {"code": 404, "message": f"No route for {method} {path}"}}
        return await self._reply(HttpError(404, error), reader, writer)

    # ---- writing responses

    async def _reply(self, reply: Reply, reader, writer) -> bool:
        out = _Out(reader, writer)
        match reply:
            case HttpError(status, body, headers):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                extra = {"Content-Type": "application/json", **(headers or {})}
                extra["Content-Length"] = str(len(data))
                writer.write(_status_and_headers(status, extra) + data)
                await writer.drain()
                return True
            case Fixture():
                data = reply.path.read_bytes()
                ctype = "application/json" if reply.path.suffix == ".json" else None
                await out.start(content_type=ctype)
                size = reply.chunk_size or len(data) or 1
                t0 = out.now()
                for n, i in enumerate(range(0, len(data), size)):
                    await out.pause_until(t0 + n * reply.delay)
                    await out.chunk(data[i:i + size])
                await out.end()
                return True
            case Tokens():
                c = _Completion(reply.model, reply.provider)
                await out.start(generation_id=c.id)
                for _ in range(reply.comments):
                    await out.chunk(COMMENT)
                first = out.now() + reply.ttft
                await out.pause_until(first)
                await out.chunk(c.delta(""))
                for i, thought in enumerate(reply.reasoning):
                    await out.pause_until(first + i * reply.interval)
                    await out.chunk(c.reasoning(thought))
                first += len(reply.reasoning) * reply.interval
                for i, token in enumerate(reply.tokens):
                    await out.pause_until(first + i * reply.interval)
                    await out.chunk(c.delta(token))
                await out.chunk(c.delta("", reply.finish_reason))
                if reply.usage:
                    await out.chunk(c.usage(reply.prompt_tokens, len(reply.tokens), reply.cost))
                if reply.done:
                    await out.chunk(DONE)
                await out.end()
                return True
            case InBandError():
                c = _Completion(reply.model, reply.provider)
                await out.start(generation_id=c.id)
                await out.chunk(COMMENT)
                await out.chunk(c.delta(""))
                for thought in reply.reasoning:
                    await out.chunk(c.reasoning(thought))
                for token in reply.after_tokens:
                    await out.chunk(c.delta(token))
                await out.chunk(c.error(reply.code, reply.message, reply.with_choices))
                await out.end()
                return True
            case Drop():
                c = _Completion("openai/gpt-4o-mini", "OpenAI")
                await out.start(generation_id=c.id)
                await out.chunk(c.delta(""))
                t0 = out.now()
                for i, token in enumerate(reply.after_tokens):
                    await out.pause_until(t0 + i * reply.interval)
                    await out.chunk(c.delta(token))
                if reply.reset:
                    await out.reset()
                return False  # the connection handler closes without the terminating chunk
            case Stall():
                c = _Completion("openai/gpt-4o-mini", "OpenAI")
                await out.start(generation_id=c.id)
                if reply.after_tokens or reply.reasoning:
                    await out.chunk(c.delta(""))
                    for thought in reply.reasoning:
                        await out.chunk(c.reasoning(thought))
                    for token in reply.after_tokens:
                        await out.chunk(c.delta(token))
                await out.pause(reply.seconds)
                await out.chunk(c.delta("", "stop"))
                await out.chunk(c.usage(11, len(reply.after_tokens), "0.00001"))
                await out.chunk(DONE)
                await out.end()
                return True
            case Hang():
                await out.pause(reply.seconds)
                return False  # close without ever sending a status line
        raise TypeError(f"not a Reply: {reply!r}")


def _method_not_allowed(method: str, path: str) -> HttpError:
    return HttpError(405, {"error": {"code": 405, "message": f"{method} not allowed on {path}"}})


def _status_and_headers(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Out:
    """Writes one chunked streaming response. Every piece becomes one HTTP chunk, flushed at
    once, so the client sees the timing the reply asked for."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    def _check_client(self) -> None:
        # EOF from the client (it closed its socket) or a reset: nobody is reading any more.
        if self.reader.at_eof() or self.writer.is_closing():
            raise _ClientGone("client disconnected")

    async def start(self, *, content_type: str | None = None,
                    generation_id: str | None = None) -> None:
        headers = {"Content-Type": content_type or "text/event-stream",
                   "Transfer-Encoding": "chunked", "Cache-Control": "no-cache"}
        if generation_id:
            headers["X-Generation-Id"] = generation_id
        self.writer.write(_status_and_headers(200, headers))
        await self.writer.drain()

    async def chunk(self, data: bytes) -> None:
        self._check_client()
        if data:  # an empty chunk would be the terminating chunk
            self.writer.write(b"%x\r\n%b\r\n" % (len(data), data))
            await self.writer.drain()

    async def end(self) -> None:
        self._check_client()
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def pause(self, seconds: float) -> None:
        await self.pause_until(self.now() + seconds)

    async def pause_until(self, deadline: float) -> None:
        """Sleep until a loop-clock deadline, and notice within _POLL seconds if the client
        disconnects meanwhile. Replies schedule against deadlines measured from the start of
        the stream, not "sleep interval after the last write". Otherwise each token's
        scheduling lag would add up (about 0.5 s over 100 tokens under load), and a benchmark
        would measure the fake instead of the app."""
        loop = asyncio.get_running_loop()
        while True:
            self._check_client()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, _POLL))

    async def reset(self) -> None:
        # Let everything written reach the kernel first, then close with SO_LINGER 0. The kernel
        # then sends RST instead of FIN.
        await self.writer.drain()
        while self.writer.transport.get_write_buffer_size():
            await asyncio.sleep(0.001)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


# --------------------------------------------------------------------------- CLI


_BENCH_WORDS = ("Lorem", " ipsum", " dolor", " sit", " amet,", " consectetur", " adipiscing",
                " elit.")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve one fixed Tokens reply forever.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before the first token")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per reply")
    parser.add_argument("--model", default="openai/gpt-4o-mini")
    args = parser.parse_args(argv)

    tokens = [_BENCH_WORDS[i % len(_BENCH_WORDS)] for i in range(args.tokens)]
    stop = threading.Event()
    # SIGTERM (what subprocess.terminate() sends) stops the server cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeUpstream(args.host, args.port, record_requests=False) as upstream:
        upstream.default = Tokens(tokens, model=args.model, ttft=args.ttft,
                                  interval=args.interval)
        print(f"READY {upstream.url}", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
