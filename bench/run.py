"""`make bench`: how much latency, memory and page weight the app adds.

Three processes on loopback: the fake upstream (known TTFT and token interval), the app
(`python -m hyperchat`, served by Hypercorn), and this load client (one asyncio loop, a
minimal HTTP/1.1 client: see "HTTP client" for why not httpx). Each simulated user has its
own cookies and connection; it loads `/`, then sends a message with htmx's headers and
follows the reply's SSE stream, as the browser would.

    app-added TTFT = (first token frame - just before POST /messages) - the fake's TTFT,
                     as the same client measures it straight from the fake (its median)

Levels: 1 stream (sequential samples), then 50 and 200 streams started at the same moment.
The machine is shared and noisy, so the same client also measures the fake directly, at the
same concurrency, and the report sets app-added against that baseline, with the app's and
the machine's CPU use meanwhile. A real Chromium then measures the first-load transfer of
`/` and of a conversation page. Targets are reported PASS/FAIL; the exit status is 0 either
way (it is non-zero only when the benchmark itself cannot run).

    .venv/bin/python bench/run.py            # the full run, about 2 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # a smoke run of the same code paths
    .venv/bin/python bench/run.py --workers 2 --levels 200   # WORKERS=2: Redis + PostgreSQL
    .venv/bin/python bench/run.py --signed-in --levels       # a signed-in account vs a guest
    .venv/bin/python bench/run.py --budgets   # the speed budgets `make test` enforces (< 1 min)
    .venv/bin/python bench/run.py --v1-vs-litellm   # /v1 beside LiteLLM's proxy (own venv)
    .venv/bin/python bench/run.py --ttft-runs 3     # 1 stream, 3 runs: guest, signed in, /v1
    .venv/bin/python bench/run.py --capacity        # steady arrivals: one worker, then two
    .venv/bin/python bench/run.py --capacity --workers 2 --window 20   # one configuration

--ttft-runs N (bench/ttft_runs.py, about 1 minute a run) measures app-added TTFT at 1 stream
N times in a row, each run --samples samples of every path in turn: a guest (POST /messages,
then the SSE stream), a signed-in account (the same), /v1 (POST /v1/chat/completions, streamed,
with that account's API key, to the first content chunk) and the fake directly; each path
against the run's direct median. Per run and path: p50 / p99, PASS when <= 5 / 15 ms; then
the spread of each across the runs.

--capacity (bench/capacity.py, about 3 minutes a configuration) is an open-loop load: new
replies arrive evenly spaced at R a second for --window seconds (15), each from its own
person whose page was loaded before; R holds when app-added TTFT p99 <= 100 ms after the
first reply's lifetime, every reply is relayed whole and nothing fails. R doubles from 4
while it holds, then bisection to within 10 %. Reported per configuration (one worker on
SQLite, two on Redis + PostgreSQL; or only --workers N): the largest R that held, TTFT p50 /
p99 and app CPU there, every rate tried.

--budgets is a short run (15 samples at 1 stream, one round of 20 streams, the first load of
`/`) that exits with status 1 when a budget is broken, each against a baseline from the same
run so that a busy machine does not fail it:
  - first load of `/` <= 150 KB transferred (compressed), in Chromium with a cold cache;
  - app-added TTFT p50 at 1 stream <= 3 x the upstream's own TTFT over the fake's nominal one,
    as the same client measures it directly (p50), + 10 ms;
  - app CPU per reply at 20 streams <= 1.5 x the figure committed in bench/budgets.json,
    as a multiple of the CPU the fake upstream spends on the same replies (so a slower or
    busier machine moves both); `--budgets --record` measures and writes it: do that on
    purpose, after a change that is meant to cost more, and say so in the commit.

--workers N serves with WORKERS=N, REDIS_URL pointing at a redis-server this starts on
loopback, and (for N > 1, or with --postgres) PostgreSQL from scripts/postgres.sh, in a fresh
database. The app's CPU and RSS are then those of all its processes plus redis-server's.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.md"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# The fake's script. Streams last TTFT + TOKENS * INTERVAL (1.8 s): long enough that the 200
# streams of a round are all open at once, short enough for a few minutes in all.
TTFT = 0.2
INTERVAL = 0.02
TOKENS = 80
MODEL = "openai/gpt-4o-mini"

TARGET_P50_1 = 5.0  # ms, app-added TTFT p50 at 1 stream
TARGET_P99_1 = 25.0  # ms, p99 at 1 stream
TARGET_P99_200 = 100.0  # ms, p99 at 200 streams
TARGET_RELAYED_200 = 95.0  # %, relayed text at 200 streams
TARGET_FIRST_LOAD_KB = 250.0
TARGET_SIGNED_IN_EXTRA = 1.0  # ms, signed-in minus guest app-added TTFT p50 at 1 stream

# --budgets (run by `make test`): see the module docstring.
BUDGETS = ROOT / "bench" / "budgets.json"
BUDGET_FIRST_LOAD_KB = 150.0
BUDGET_TTFT_FACTOR, BUDGET_TTFT_SLACK_MS = 3.0, 10.0
BUDGET_CPU_FACTOR = 1.5
BUDGET_STREAMS = 20

SQLITE_URL = "sqlite://{tmp}/bench.sqlite3"  # the app's default database, in the run's tmp

STARTUP_TIMEOUT = 30.0
SAMPLE_TIMEOUT = 60.0  # one user's POST + whole stream; far above the 1.8 s a reply takes


# --------------------------------------------------------------------------- processes


class Service:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path):
        self.pids: list[int] = []  # what CPU and RSS are summed over (set once it runs)
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                               f"{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    # Nothing inherited may change what the app is pointed at or how it is configured.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HYPERCHAT_", "OPENROUTER_", "DATABASE_URL", "ACCESS_LOG",
                                     "TITLE_MODEL", "DEFAULT_MODEL"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def start_fake(tmp: Path, tokens: int = TOKENS) -> tuple[Service, str]:
    args = [sys.executable, "-m", "tests.fake_upstream", "--port", "0", "--ttft", str(TTFT),
            "--interval", str(INTERVAL), "--tokens", str(tokens), "--model", MODEL]
    fake = Service("fake upstream", args, child_env({}), tmp / "fake.log")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        fake.check_alive()
        match = re.search(r"^READY (\S+)$", fake.log_path.read_text(), re.M)
        if match:
            return fake, match.group(1)
        time.sleep(0.05)
    raise RuntimeError(f"fake upstream not ready after {STARTUP_TIMEOUT} s:\n{fake.log_tail()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(tmp: Path, upstream_url: str, database_url: str,
              profile: str | None = None, extra: dict[str, str] | None = None
              ) -> tuple[Service, str]:
    port = free_port()
    env = child_env({
        "HOST": "127.0.0.1", "PORT": str(port),
        "HYPERCHAT_DATA_DIR": str(tmp / "data"),
        "DATABASE_URL": database_url.replace("{tmp}", str(tmp)),
        "OPENROUTER_BASE_URL": upstream_url, "OPENROUTER_API_KEY": "bench",
        "DEFAULT_MODEL": MODEL, "SECRET_KEY": "bench",
        # Every simulated person sends from 127.0.0.1 within seconds: the per-person and
        # per-address limits (issue 5) would refuse the load this measures.
        "HYPERCHAT_RATE_LIMIT_PER_MINUTE": "1000000",
        "HYPERCHAT_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "1000000",
        "HYPERCHAT_CONCURRENT_GENERATIONS": "1000000",
        "HYPERCHAT_CONCURRENT_GENERATIONS_PER_ADDRESS": "1000000",
        # Likewise the caps on open streams and on writes per address (issue 10).
        "HYPERCHAT_SSE_MAX_PER_ADDRESS": "1000000",
        "HYPERCHAT_WRITE_RATE_LIMIT": "1000000",
        **(extra or {}),
    })
    # --profile: cProfile writes its stats when the app exits (SIGTERM is a clean stop).
    run = ["-m", "cProfile", "-o", profile, "-m", "hyperchat"] if profile else ["-m", "hyperchat"]
    app = Service("app", [sys.executable, *run], env, tmp / "app.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        app.check_alive()
        with suppress(URLError, ConnectionError), urlopen(url + "/", timeout=2) as response:
            if response.status == 200:
                app.pids = process_tree(app.pid)  # with WORKERS > 1: the workers too
                return app, url
        time.sleep(0.1)
    raise RuntimeError(f"app not ready after {STARTUP_TIMEOUT} s:\n{app.log_tail()}")


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            total += next(int(line.split()[1]) for line in status
                          if line.startswith("VmRSS:"))
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (Hypercorn's workers), read once."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def start_redis(tmp: Path) -> tuple[Service, str]:
    """A redis-server on a free loopback port, without persistence (as tests/redis_server.py)."""
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp), "--protected-mode", "yes"]
    redis = Service("redis-server", args, child_env({}), tmp / "redis.log")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        redis.check_alive()
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return redis, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    raise RuntimeError(f"redis-server not ready:\n{redis.log_tail()}")


def fresh_postgres_database(name: str = "hyperchat_bench") -> str:
    """Start (or reuse) scripts/postgres.sh's server; return the URL of an empty database."""
    out = subprocess.run([str(ROOT / "scripts/postgres.sh"), "start"], check=True,
                         capture_output=True, text=True, timeout=60)
    admin = out.stdout.strip().splitlines()[-1]
    script = ("import asyncio, asyncpg, sys\n"
              "async def main(url, name):\n"
              "    conn = await asyncpg.connect(url)\n"
              "    await conn.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)')\n"
              "    await conn.execute(f'CREATE DATABASE \"{name}\"')\n"
              "    await conn.close()\n"
              "asyncio.run(main(sys.argv[1], sys.argv[2]))\n")
    subprocess.run([sys.executable, "-c", script, admin, name], check=True, timeout=60)
    return admin.rsplit("/", 1)[0] + "/" + name


@dataclass
class Stack:
    """What `serving` runs: the fake upstream and the app, with their URLs."""

    fake: Service
    fake_url: str
    app: Service
    app_url: str
    setup: str  # e.g. "WORKERS=2, PostgreSQL, Redis"


@contextmanager
def serving(workers: int | None = None, postgres: bool = False,
            database_url: str = SQLITE_URL, profile: str | None = None,
            tokens: int = TOKENS) -> Iterator[Stack]:
    """The fake upstream and the app in a temporary directory; with `workers`, WORKERS=N
    and a redis-server (whose CPU and RSS then count as the app's); with `postgres`, a fresh
    PostgreSQL database. Every process is stopped on the way out, and their log tails are
    printed when something failed."""
    services: list[Service] = []
    with tempfile.TemporaryDirectory(prefix="hyperchat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            fake, fake_url = start_fake(tmp, tokens)
            services.append(fake)
            extra: dict[str, str] = {}
            if workers is not None:
                redis, extra["REDIS_URL"] = start_redis(tmp)
                services.append(redis)
                extra["WORKERS"] = str(workers)
            if postgres:
                database_url = fresh_postgres_database()
            setup = (f"WORKERS={workers or 1}, {'PostgreSQL' if postgres else 'SQLite'}"
                     f"{', Redis' if workers is not None else ''}")
            app, app_url = start_app(tmp, fake_url, database_url, profile, extra)
            services.append(app)
            if workers is not None:
                app.pids.append(redis.pid)  # the live streams' cost is the app's too
            yield Stack(fake, fake_url, app, app_url, setup)
            for service in services:
                service.check_alive()
        except BaseException:
            for service in services:
                state = service.proc.poll()
                state = "running" if state is None else f"exited with {state}"
                print(f"--- {service.name} (pid {service.pid}, {state}) log tail:\n"
                      f"{service.log_tail()}", file=sys.stderr)
            raise
        finally:
            for service in reversed(services):
                service.stop()


# --------------------------------------------------------------------------- HTML


class _Finder(HTMLParser):
    """The CSRF token from the page's htmx headers (on <body>), the reply's stream URL
    from its shell, and a new API key from the account page (`#new-key code`)."""

    def __init__(self) -> None:
        super().__init__()
        self.csrf: str | None = None
        self.stream_url: str | None = None
        self.new_key: str | None = None
        self._in_new_key = self._in_key_code = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("hx-headers:inherited"):
            self.csrf = json.loads(a["hx-headers:inherited"]).get("X-CSRF-Token")
        if "stream-source" in (a.get("class") or "").split() and self.stream_url is None:
            self.stream_url = a.get("hx-get")
        self._in_new_key = self._in_new_key or a.get("id") == "new-key"
        self._in_key_code = self._in_new_key and tag == "code"

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_key_code = False

    def handle_data(self, data):
        if self._in_key_code and self.new_key is None:
            self.new_key = data.strip()


def find(text: str) -> _Finder:
    finder = _Finder()
    finder.feed(text)
    return finder


# --------------------------------------------------------------------------- HTTP client

# Why not httpx: measured on this 2-core machine against the fake alone, 200 concurrent
# streams cost httpx about 2-4 s of client CPU per round (its pool rescans every connection
# on each state change) and put seconds of client-side delay on the baseline; these ~80
# lines cost about 0.3 s. A client that is slower than the server measures itself.


class HttpConnection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds it: requests go out one
    after another; a response body is read as it arrives, HTTP chunk by HTTP chunk."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> HttpResponse:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        reused = self.writer is not None
        if not reused:
            await self._connect()
        try:
            return await self._exchange(data)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused:
                raise
            # The server closed the idle keep-alive connection (Hypercorn: after 5 s) just
            # before we wrote; it never saw the request, so one retry on a new one is safe.
            self.close()
            await self._connect()
            return await self._exchange(data)

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def _exchange(self, data: bytes) -> HttpResponse:
        self.writer.write(data)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.rstrip("\r\n").split("\r\n")
        headers: list[tuple[str, str]] = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        return HttpResponse(self, int(status_line.split(" ", 2)[1]), headers)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None


class HttpResponse:
    def __init__(self, conn: HttpConnection, status: int, headers: list[tuple[str, str]]):
        self.conn, self.status, self.header_list = conn, status, headers
        self.headers = dict(headers)  # the last value of each (Set-Cookie: see header_list)
        self.complete = False

    def raise_for_status(self) -> None:
        if not 200 <= self.status < 300:
            raise RuntimeError(f"HTTP {self.status}")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: each HTTP chunk (chunked encoding), or all of it."""
        reader = self.conn.reader
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    break
                yield (await reader.readexactly(size + 2))[:-2]
        elif "content-length" in self.headers:
            length = int(self.headers["content-length"])
            if length:
                yield await reader.readexactly(length)
        else:
            while data := await reader.read(65536):
                yield data
            self.conn.close()
        self.complete = True

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def release(self) -> None:
        """Keep the connection for the next request only if this body was read to its end."""
        if not self.complete or self.headers.get("connection", "").lower() == "close":
            self.conn.close()


# --------------------------------------------------------------------------- SSE


def sse_events(buffer: bytearray) -> list[dict[str, str]]:
    """Remove the complete events at the front of `buffer` and return them as field dicts
    (data lines joined with newlines; comments dropped)."""
    events = []
    while True:
        end = buffer.find(b"\n\n")
        if end < 0:
            return events
        block = bytes(buffer[:end]).decode()
        del buffer[:end + 2]
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data" and "data" in fields:
                fields["data"] += "\n" + value
            else:
                fields[name] = value
        if fields:
            events.append(fields)


@dataclass
class Sample:
    """One reply as the client saw it."""

    added_ms: float | None = None  # first token - t0 - the fake's TTFT
    first_at: float | None = None  # perf_counter() at the first token
    post_ms: float | None = None  # t0 -> POST /messages answered (app only)
    headers_ms: float | None = None  # t0 -> the stream's response headers
    text: str = ""
    error: str | None = None


@dataclass
class Load:
    """What a run of concurrent samples shares: the number of streams open right now."""

    open_streams: int = 0
    max_open: int = 0
    # The fake upstream's CPU seconds over the app rounds: it streams the same replies, so
    # app CPU / fake CPU is a cost that a slower or busier machine changes little.
    fake_cpu: float = 0.0

    def opened(self) -> None:
        self.open_streams += 1
        self.max_open = max(self.max_open, self.open_streams)

    def closed(self) -> None:
        self.open_streams -= 1


class User:
    """One browser: its own cookies (session and CSRF token) and keep-alive connection."""

    def __init__(self, host: str, port: int):
        self.conn = HttpConnection(host, port)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    async def fetch(self, method: str, target: str, headers: dict[str, str] | None = None,
                    body: bytes = b"") -> HttpResponse:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = await self.conn.request(method, target, headers, body)
        for name, value in response.header_list:
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response

    async def load_page(self) -> None:
        response = await self.fetch("GET", "/")
        text = (await response.read()).decode()
        response.release()
        response.raise_for_status()
        self.csrf = find(text).csrf or ""
        if not self.csrf:
            raise RuntimeError("no CSRF token in <body hx-headers:inherited> on /")

    async def sign_up(self, username: str) -> None:
        """Become a signed-in account (the sign-up signs in), then load / again for the
        new session's CSRF token."""
        body = json.dumps({"username": username, "password": "bench password 123"}).encode()
        response = await self.fetch("POST", "/api/v1/auth/register",
                                    {"Content-Type": "application/json",
                                     "X-CSRF-Token": self.csrf}, body)
        await response.read()
        response.release()
        response.raise_for_status()
        await self.load_page()

    async def create_api_key(self, name: str = "bench") -> str:
        """A new API key of this signed-in account, made on the account page as a person
        does (the page shows it once)."""
        form = urlencode({"name": name, "csrf_token": self.csrf})
        response = await self.fetch("POST", "/account/keys",
                                    {"Content-Type": "application/x-www-form-urlencoded"},
                                    form.encode())
        text = (await response.read()).decode()
        response.release()
        response.raise_for_status()
        key = find(text).new_key
        if not key:
            raise RuntimeError("no #new-key code in the POST /account/keys reply")
        return key

    async def send(self, n: int, load: Load) -> Sample:
        """Send a message as htmx does and follow its reply to `event: done`."""
        sample = Sample()
        form = urlencode({"content": f"Benchmark message {n}", "csrf_token": self.csrf})
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT):
                t0 = time.perf_counter()
                response = await self.fetch(
                    "POST", "/messages", {"HX-Request": "true",
                                          "Content-Type": "application/x-www-form-urlencoded"},
                    form.encode())
                text = (await response.read()).decode()
                response.release()
                response.raise_for_status()
                sample.post_ms = (time.perf_counter() - t0) * 1000
                stream_url = find(text).stream_url
                if not stream_url:
                    raise RuntimeError("no .stream-source hx-get in the POST /messages reply")
                stream = await self.fetch("GET", stream_url,
                                          {"Accept": "text/event-stream"})
                try:
                    stream.raise_for_status()
                    sample.headers_ms = (time.perf_counter() - t0) * 1000
                    load.opened()
                    try:
                        await self._follow(stream, t0, sample)
                    finally:
                        load.closed()
                finally:
                    stream.release()
        except Exception as exc:  # one failed user is a figure, not a crash
            sample.error = f"{type(exc).__name__}: {exc}"
            self.conn.close()
        return sample

    @staticmethod
    async def _follow(stream: HttpResponse, t0: float, sample: Sample) -> None:
        buffer = bytearray()
        tokens: list[str] = []
        done = False
        async for chunk in stream.chunks():
            now = time.perf_counter()
            buffer += chunk.replace(b"\r\n", b"\n")
            for event in sse_events(buffer):
                if event.get("event") == "done":
                    done = True
                # A token frame: numbered, unnamed, with text. Token text is HTML-escaped, so
                # it never holds a "<"; the final frame (the finished bubble's out-of-band
                # HTML) always does.
                elif "id" in event and "event" not in event and event.get("data") \
                        and "<" not in event["data"]:
                    if sample.added_ms is None:
                        sample.added_ms = (now - t0 - TTFT) * 1000
                        sample.first_at = now
                    tokens.append(event["data"])
        # Read to the end of the body (just after `done`), so the connection can be reused.
        sample.text = html.unescape("".join(tokens))
        if not done:
            raise RuntimeError("stream ended without event: done")


async def direct_sample(host: str, port: int, path: str, load: Load,
                        first_token_only: bool = False,
                        headers: dict[str, str] | None = None) -> Sample:
    """The same path without the app: POST the fake's chat completions, time the first token.
    Also the app's own /v1 (`path` "/v1", an API key in `headers`): the same request, client
    and clock."""
    sample = Sample()
    body = json.dumps({"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": "Benchmark message"}]}).encode()
    conn = HttpConnection(host, port)
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT):
            # Connected before the clock starts, as the app's upstream pool keeps its
            # connections to the fake alive: the baseline is the fake's TTFT, not a connect.
            await conn._connect()
            t0 = time.perf_counter()
            stream = await conn.request("POST", path + "/chat/completions",
                                        {"Content-Type": "application/json", **(headers or {})},
                                        body)
            stream.raise_for_status()
            sample.headers_ms = (time.perf_counter() - t0) * 1000
            load.opened()
            try:
                buffer = bytearray()
                texts: list[str] = []
                async for chunk in stream.chunks():
                    now = time.perf_counter()
                    buffer += chunk.replace(b"\r\n", b"\n")
                    for event in sse_events(buffer):
                        data = event.get("data", "")
                        if not data or data == "[DONE]":
                            continue
                        choices = json.loads(data).get("choices") or [{}]
                        text = (choices[0].get("delta") or {}).get("content")
                        if text:
                            if sample.added_ms is None:
                                sample.added_ms = (now - t0 - TTFT) * 1000
                                if first_token_only:
                                    return sample
                            texts.append(text)
                sample.text = "".join(texts)
            finally:
                load.closed()
    except Exception as exc:
        sample.error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return sample


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Level:
    concurrency: int
    app: list[Sample] = field(default_factory=list)
    direct: list[Sample] = field(default_factory=list)
    app_cpu: float = 0.0  # app process CPU seconds / wall seconds over its app rounds
    client_cpu: float = 0.0  # this process, same
    wall: float = 0.0
    max_open: int = 0
    # The fake upstream's CPU seconds over the app rounds: it streams the same replies, so
    # app CPU / fake CPU is a cost that a slower or busier machine changes little.
    fake_cpu: float = 0.0
    # Per app round: seconds until the last first token, app CPU and machine CPU meanwhile,
    # the round's own app-added TTFT p50 and p99.
    ramps: list[tuple] = field(default_factory=list)

    @property
    def cpu_per_reply_ms(self) -> float:
        return 1000 * self.app_cpu * self.wall / max(1, len(self.app))

    def ttft(self, which: str, q: float, attr: str = "added_ms") -> float | None:
        samples = self.app if which == "app" else self.direct
        values = [getattr(s, attr) for s in samples]
        return percentile([v for v in values if v is not None], q)

    def added(self, q: float) -> float | None:
        """App-added TTFT: each app sample minus the upstream's own TTFT as the same client
        measured it straight from the fake at this concurrency (its median). The fake is a
        real server: its first token comes a few ms after its nominal TTFT, app or not."""
        upstream = self.ttft("direct", 50)
        values = [s.added_ms for s in self.app if s.added_ms is not None]
        if upstream is None or not values:
            return None
        return percentile([v - upstream for v in values], q)

    def errors(self, which: str) -> list[str]:
        samples = self.app if which == "app" else self.direct
        return [s.error for s in samples if s.error]

    def relayed(self, expected: str) -> float:
        """Characters received as % of those the fake emitted, over every app stream (a failed
        stream counts what it got before failing)."""
        got = sum(min(len(s.text), len(expected)) for s in self.app)
        return 100 * got / (len(expected) * len(self.app)) if self.app else 0.0

    def intact(self, expected: str) -> int:
        """App streams whose text is exactly the fake's: nothing lost, doubled or reordered."""
        return sum(s.text == expected for s in self.app)


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def verdict(value: float | None, limit: float, op: str) -> str:
    if value is None:
        return "FAIL"
    ok = value <= limit if op == "<=" else value >= limit
    return "PASS" if ok else "FAIL"


# --------------------------------------------------------------------------- load runs


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class Monitor:
    """Polls the app process in a thread (a busy client loop must not skip the peak): VmRSS
    with its peak, and CPU time of the app and of the whole machine, to tell apart an app
    that is busy, one that waits, and a machine that is busy with something else."""

    def __init__(self, pids: list[int], load: Load, period: float = 0.01):
        self.pids, self.load, self.period = pids, load, period
        self.peak = 0
        self.open_at_peak = 0
        self.series: list[tuple[float, float, int, int]] = []  # (t, app CPU s, busy, total)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(OSError, RuntimeError):
                rss = rss_kib(self.pids)
                if rss > self.peak:
                    self.peak, self.open_at_peak = rss, self.load.open_streams
                self.series.append((time.perf_counter(), cpu_seconds(self.pids),
                                    *machine_jiffies()))
            self._stop.wait(self.period)

    def usage(self, start: float, end: float) -> tuple[float, float]:
        """App CPU (share of one core) and machine CPU (share of all cores) in [start, end]."""
        inside = [row for row in self.series if start <= row[0] <= end]
        if len(inside) < 2:
            return 0.0, 0.0
        (t0, cpu0, busy0, total0), (t1, cpu1, busy1, total1) = inside[0], inside[-1]
        return (cpu1 - cpu0) / (t1 - t0), (busy1 - busy0) / max(1, total1 - total0)

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


async def run_concurrent(factory: Callable[[int, Load], object], n: int, load: Load) -> list:
    """Start n samples at the same moment; `load` counts their open streams."""
    start = asyncio.Event()

    async def one(i: int):
        await start.wait()
        return await factory(i, load)

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0)  # every task is now parked on `start`
    start.set()
    # Bounded: every request has its own timeout; this is the backstop.
    return list(await asyncio.wait_for(asyncio.gather(*tasks), SAMPLE_TIMEOUT * 2))


async def make_users(app_url: str, n: int) -> list[User]:
    where = urlsplit(app_url)
    users = [User(where.hostname, where.port) for _ in range(n)]
    sem = asyncio.Semaphore(50)

    async def load(user: User) -> None:
        async with sem:
            await user.load_page()

    await asyncio.gather(*(load(u) for u in users))
    return users


async def run_load(args, app: Service, app_url: str, fake_url: str, report: dict,
                   fake_pid: int) -> None:
    fake = urlsplit(fake_url)
    fake_at = (fake.hostname, fake.port, fake.path)
    counter = iter(range(10**9))
    users: list[User] = []
    try:
        # Warm-up (not counted): the reference text, the app's first template renders.
        reference = await direct_sample(*fake_at, Load())
        if reference.error:
            raise RuntimeError(f"fake upstream: {reference.error}")
        expected = reference.text
        solo = (await make_users(app_url, 1))[0]
        users.append(solo)
        for _ in range(2):
            warm = await solo.send(next(counter), Load())
            if warm.error:
                raise RuntimeError(f"app warm-up failed: {warm.error}\n{app.log_tail()}")
        report["rss_start"] = rss_kib(app.pids)

        # Concurrency 1: app and direct alternate, so noise hits both alike. The direct
        # sample stops at its first token: with nothing else running, the tail of a stream
        # cannot change the next sample's TTFT.
        level = Level(1)
        # --signed-in: a signed-in account's samples alternate with the guest's, against the
        # same direct samples, so both see the same noise (identity costs one query).
        member = None
        if args.signed_in:
            member = (await make_users(app_url, 1))[0]
            users.append(member)
            await member.sign_up(f"bench{os.getpid()}")
            for _ in range(2):
                await member.send(next(counter), Load())
            report["signed_in"] = Level(1)
        cpu0, client0, wall0 = cpu_seconds(app.pids), time.process_time(), time.perf_counter()
        for _ in range(args.samples):
            level.app.append(await solo.send(next(counter), Load()))
            if member is not None:
                report["signed_in"].app.append(await member.send(next(counter), Load()))
            level.direct.append(await direct_sample(*fake_at, Load(), first_token_only=True))
        wall = time.perf_counter() - wall0
        # The direct samples' time is in `wall` too; that is fine for CPU per reply.
        level.app_cpu = (cpu_seconds(app.pids) - cpu0) / wall
        level.client_cpu = (time.process_time() - client0) / wall
        level.wall = wall
        level.max_open = 1
        report["levels"].append(level)
        print_level(level, expected)
        if member is not None:
            signed = report["signed_in"]
            signed.direct = level.direct
            print(f"  signed in, 1 stream: app-added TTFT p50 {fmt(signed.added(50))} ms "
                  f"p99 {fmt(signed.added(99))} ms (guest p50 {fmt(level.added(50))} ms)",
                  flush=True)

        for n in args.levels:
            app.check_alive()
            level = Level(n)
            level_users = await make_users(app_url, n)
            users += level_users
            await asyncio.sleep(0.5)  # let the app's loop go quiet before the idle sample
            idle = rss_kib(app.pids)
            app_wall = app_cpu = client_cpu = 0.0
            live = Load()  # the app's open streams, read by the sampler thread
            with Monitor(app.pids, live) as rss:
                for _ in range(args.rounds):
                    level.direct += await run_concurrent(
                        lambda i, ld: direct_sample(*fake_at, ld), n, Load())
                    await asyncio.sleep(0.3)
                    cpu0, client0, wall0 = (cpu_seconds(app.pids), time.process_time(),
                                            time.perf_counter())
                    fake0 = cpu_seconds([fake_pid])
                    samples = await run_concurrent(
                        lambda i, ld, us=level_users: us[i].send(next(counter), ld), n, live)
                    app_wall += time.perf_counter() - wall0
                    app_cpu += cpu_seconds(app.pids) - cpu0
                    level.fake_cpu += cpu_seconds([fake_pid]) - fake0
                    client_cpu += time.process_time() - client0
                    level.app += samples
                    # The ramp: from the burst of POSTs until the last stream's first token.
                    firsts = [s.first_at for s in samples if s.first_at is not None]
                    added = [s.added_ms for s in samples if s.added_ms is not None]
                    if firsts:
                        level.ramps.append((max(firsts) - wall0, *rss.usage(wall0, max(firsts)),
                                            percentile(added, 50), percentile(added, 99)))
                    await asyncio.sleep(0.3)
            level.app_cpu, level.client_cpu = app_cpu / app_wall, client_cpu / app_wall
            level.wall, level.max_open = app_wall, live.max_open
            report["levels"].append(level)
            if n == max(args.levels):
                report["rss"] = {"idle": idle, "peak": rss.peak, "open_at_peak": rss.open_at_peak,
                                 "streams": n, "max_open": level.max_open}
            print_level(level, expected)
        report["expected"] = expected
    finally:
        for user in users:
            user.conn.close()


def print_level(level: Level, expected: str) -> None:
    app_errors, direct_errors = level.errors("app"), level.errors("direct")
    print(f"  {level.concurrency:>3} streams: app-added TTFT p50 {fmt(level.added(50))} ms"
          f" p99 {fmt(level.added(99))} ms | over the fake's nominal TTFT: app p50 "
          f"{fmt(level.ttft('app', 50))} p99 {fmt(level.ttft('app', 99))} ms, direct p50 "
          f"{fmt(level.ttft('direct', 50))} p99 {fmt(level.ttft('direct', 99))} ms"
          f" | relayed {fmt(level.relayed(expected))} %"
          f" ({level.intact(expected)}/{len(level.app)} streams intact)"
          f" | errors app={len(app_errors)} direct={len(direct_errors)}"
          f" | app CPU {level.app_cpu:.0%} ({level.cpu_per_reply_ms:.1f} ms per reply)"
          f" client CPU {level.client_cpu:.0%}"
          f" | max open {level.max_open} | load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"      breakdown p50/p99: app POST answered {fmt(level.ttft('app', 50, 'post_ms'))}"
          f"/{fmt(level.ttft('app', 99, 'post_ms'))} ms, app stream headers "
          f"{fmt(level.ttft('app', 50, 'headers_ms'))}/{fmt(level.ttft('app', 99, 'headers_ms'))}"
          f" ms, direct headers {fmt(level.ttft('direct', 50, 'headers_ms'))}/"
          f"{fmt(level.ttft('direct', 99, 'headers_ms'))} ms (from t0)")
    for ramp, app_cpu, machine, p50, p99 in level.ramps:
        print(f"      round: TTFT p50 {fmt(p50)} p99 {fmt(p99)} ms; last first token after"
              f" {ramp:.2f} s, meanwhile app CPU {app_cpu:.0%} of one core, machine"
              f" {machine:.0%} of {os.cpu_count()} cores")
    for error in sorted(set(app_errors + direct_errors))[:5]:
        print(f"      error: {error}")


# --------------------------------------------------------------------------- first load


def kind(resource_type: str, content_type: str) -> str:
    content_type = content_type.split(";")[0].strip().lower()
    if resource_type == "document" or content_type == "text/html":
        return "HTML"
    if resource_type == "stylesheet" or content_type == "text/css":
        return "CSS"
    if resource_type == "script" or "javascript" in content_type:
        return "JS"
    if resource_type == "font" or content_type.startswith("font/"):
        return "fonts"
    if resource_type == "image" or content_type.startswith("image/"):
        return "images/svg"
    return "other"


async def page_weight(context, url: str) -> dict:
    """Open `url` in a fresh page (the context's cache is cold) and add up what came over
    the wire: encoded body + headers of every response, by kind."""
    finished = []
    page = await context.new_page()
    failed = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.on("requestfailed", lambda request: failed.append(request))
    # Not "networkidle": a conversation page keeps its live-events stream open. What loads
    # after "load" (deferred requests) is caught by the pause.
    await page.goto(url, wait_until="load", timeout=30_000)
    await page.wait_for_timeout(1500)
    totals: dict[str, int] = {}
    rows = []
    for request in finished:
        if request.url.startswith("data:"):
            continue
        sizes = await request.sizes()
        response = await request.response()
        content_type = (await response.header_value("content-type") or "") if response else ""
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        k = kind(request.resource_type, content_type)
        totals[k] = totals.get(k, 0) + size
        rows.append((k, size, response.status if response else 0, request.url))
    await page.close()
    return {"totals": totals, "total": sum(totals.values()), "rows": rows,
            "failed": [r.url for r in failed]}


async def first_load(app_url: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            home = await page_weight(context, app_url + "/")
            # A conversation with one finished reply, made in this browser's session.
            page = await context.new_page()
            await page.goto(app_url + "/")
            csrf = json.loads(await page.get_attribute("body", "hx-headers:inherited")
                              )["X-CSRF-Token"]
            await page.close()
            created = await context.request.post(
                app_url + "/messages", form={"content": "Page weight", "csrf_token": csrf},
                headers={"HX-Request": "true"})
            if not created.ok:
                raise RuntimeError(f"POST /messages: {created.status}")
            stream_url = find(await created.text()).stream_url
            conversation = created.headers.get("hx-push-url")
            if not stream_url or not conversation:
                raise RuntimeError("POST /messages: no stream URL or HX-Push-Url")
            # Reading the stream to its end waits for the reply to finish.
            await context.request.get(urljoin(app_url, stream_url), timeout=30_000)
            state = await context.storage_state()
            await context.close()
            # Same session, cold cache: the conversation page's own first load.
            context = await browser.new_context(storage_state=state)
            thread = await page_weight(context, urljoin(app_url, conversation))
            await context.close()
        finally:
            await browser.close()
    return {"home": home, "conversation": thread}


def print_weight(name: str, weight: dict) -> None:
    parts = ", ".join(f"{k} {v / 1000:.1f}" for k, v in sorted(weight["totals"].items()))
    print(f"  {name}: {weight['total'] / 1000:.1f} KB ({parts})")
    for k, size, status, url in weight["rows"]:
        flag = "" if 200 <= status < 400 else f"  <-- HTTP {status}"
        print(f"      {k:<10} {size / 1000:7.1f} KB  {url}{flag}")
    for url in weight["failed"]:
        print(f"      FAILED  {url}")


# --------------------------------------------------------------------------- report


def markdown(report: dict) -> str:
    levels = {lv.concurrency: lv for lv in report["levels"]}
    expected = report["expected"]
    lines = [
        f"`make bench` ({report.get('setup', 'WORKERS=1, SQLite')}), {report['date']}, "
        f"{report['cpus']} CPUs, load average "
        f"{report['load_before']} before / {report['load_after']} after. Fake upstream in its "
        f"own process: TTFT {TTFT * 1000:.0f} ms, {TOKENS} tokens {INTERVAL * 1000:.0f} ms apart. "
        "App and direct = first token seen by the client after it began its request, minus "
        "the fake's nominal TTFT; app through POST /messages and the reply's SSE stream, "
        "direct = the same client straight to the fake, same concurrency (all streams of a "
        "level start at once). App-added TTFT = each app sample minus the upstream's own TTFT "
        "as measured directly (the direct median of the level).",
        "",
        "| streams | **app-added TTFT** p50 / p99 | app p50 / p99 | direct p50 / p99 "
        "| app ÷ direct p50 | relayed | errors | app CPU per reply |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, lv in levels.items():
        a50, a99, d50, d99 = (lv.ttft("app", 50), lv.ttft("app", 99), lv.ttft("direct", 50),
                              lv.ttft("direct", 99))
        ratio = f"{a50 / d50:.1f}×" if a50 is not None and d50 else "n/a"
        lines.append(f"| {n} | {fmt(lv.added(50))} / {fmt(lv.added(99))} ms "
                     f"| {fmt(a50)} / {fmt(a99)} ms | {fmt(d50)} / {fmt(d99)} ms | {ratio} "
                     f"| {fmt(lv.relayed(expected))} % | {len(lv.errors('app'))} "
                     f"| {lv.cpu_per_reply_ms:.0f} ms |")
    lines += ["", "| target | measured | result |", "|---|---:|:---:|"]
    for name, value, limit, op, unit in targets(report):
        lines.append(f"| {name} {op} {limit:g} {unit} | {fmt(value)} {unit} "
                     f"| {verdict(value, limit, op)} |")
    rss = report.get("rss")
    if rss:
        per = (rss["peak"] - rss["idle"]) / rss["streams"]
        lines.append(f"| RSS per open stream, (peak − idle) / {rss['streams']} "
                     f"| {per:.0f} KiB | info |")
    lines.append("")
    for name in ("home", "conversation"):
        weight = report["weight"].get(name)
        if weight:
            parts = ", ".join(f"{k} {v / 1000:.1f}" for k, v in sorted(weight["totals"].items()))
            label = "`/`" if name == "home" else "a conversation with one finished reply"
            lines.append(f"First load of {label}: **{weight['total'] / 1000:.1f} KB** "
                         f"transferred ({parts} KB).  ")
    if rss:
        lines.append(f"App RSS: {report['rss_start'] / 1024:.1f} MiB after warm-up, "
                     f"{rss['idle'] / 1024:.1f} MiB idle before the {rss['streams']}-stream "
                     "level, "
                     f"{rss['peak'] / 1024:.1f} MiB at the peak ({rss['open_at_peak']} streams "
                     f"open then, {rss['max_open']} at most).")
    return "\n".join(lines) + "\n"


def targets(report: dict) -> list[tuple[str, float | None, float, str, str]]:
    levels = {lv.concurrency: lv for lv in report["levels"]}
    one, top = levels.get(1), levels.get(200)
    rows = []
    if one:
        rows += [("app-added TTFT p50 at 1 stream", one.added(50), TARGET_P50_1, "<=", "ms"),
                 ("app-added TTFT p99 at 1 stream", one.added(99), TARGET_P99_1, "<=", "ms")]
    if top:
        rows += [("app-added TTFT p99 at 200 streams", top.added(99), TARGET_P99_200,
                  "<=", "ms"),
                 ("relayed at 200 streams", top.relayed(report["expected"]), TARGET_RELAYED_200,
                  ">=", "%")]
    signed = report.get("signed_in")
    if one and signed and signed.added(50) is not None and one.added(50) is not None:
        rows.append(("signed-in minus guest app-added TTFT p50 at 1 stream",
                     signed.added(50) - one.added(50), TARGET_SIGNED_IN_EXTRA, "<=", "ms"))
    home = report["weight"].get("home")
    if home:
        rows.append(("first load of /", home["total"] / 1000, TARGET_FIRST_LOAD_KB, "<=", "KB"))
    return rows


def check_budgets(report: dict, record: bool) -> int:
    """The budgets `make test` enforces; 1 when one is broken (or could not be measured)."""
    levels = {lv.concurrency: lv for lv in report["levels"]}
    one, many = levels[1], levels[BUDGET_STREAMS]
    home = report["weight"].get("home")
    cpu = many.cpu_per_reply_ms
    # The same replies cost the fake upstream (a small Python server on the same machine)
    # fake_cpu: their ratio is the figure committed and checked, so that a slower or busier
    # machine than the one that recorded it does not break the budget by itself.
    ratio = many.app_cpu * many.wall / many.fake_cpu if many.fake_cpu else None
    if record:
        BUDGETS.write_text(json.dumps({
            "cpu_per_reply_vs_upstream": round(ratio, 2), "streams": BUDGET_STREAMS,
            "cpu_per_reply_ms": round(cpu, 1),
            "measured": f"{report['date']}, {report['cpus']} CPUs, load {report['load_before']}",
        }, indent=2) + "\n")
        print(f"\nrecorded at {BUDGET_STREAMS} streams: app CPU per reply {cpu:.1f} ms, "
              f"{fmt(ratio, 2)} x the upstream's -> {BUDGETS.relative_to(ROOT)}")
        return 0
    committed = json.loads(BUDGETS.read_text())["cpu_per_reply_vs_upstream"]
    # The direct baseline is the upstream's own delay over its nominal TTFT (a few ms): the
    # app may add a few times that, plus a fixed allowance for its POST and its own stream.
    direct = one.ttft("direct", 50)
    ttft_limit = None if direct is None else \
        BUDGET_TTFT_FACTOR * max(direct, 0.0) + BUDGET_TTFT_SLACK_MS
    rows = [
        ("first load of / (KB transferred)", home and home["total"] / 1000,
         BUDGET_FIRST_LOAD_KB, "fixed"),
        ("app-added TTFT p50 at 1 stream (ms)", one.added(50), ttft_limit,
         f"{BUDGET_TTFT_FACTOR:g} x direct p50 {fmt(direct)} ms + {BUDGET_TTFT_SLACK_MS:g} ms"),
        (f"app CPU per reply at {BUDGET_STREAMS} streams, x the upstream's ({cpu:.1f} ms)",
         ratio, BUDGET_CPU_FACTOR * committed,
         f"{BUDGET_CPU_FACTOR:g} x committed {committed:g}"),
        (f"relayed at {BUDGET_STREAMS} streams (%)", many.relayed(report["expected"]), 100.0,
         "every token"),
    ]
    print("\nspeed budgets (a broken one fails `make test`):")
    broken = 0
    for name, value, limit, basis in rows:
        op = ">=" if name.startswith("relayed") else "<="
        result = "FAIL" if limit is None else verdict(value, limit, op)
        broken += result == "FAIL"
        print(f"  {result}  {name}: {fmt(value)} (budget {op} {fmt(limit)}: {basis})")
    return 1 if broken else 0


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30, help="sequential samples at 1 stream")
    parser.add_argument("--levels", type=int, nargs="*", default=[50, 200],
                        help="concurrent levels (all started at once)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per concurrent level")
    parser.add_argument("--quick", action="store_true", help="5 samples, 1 round: a smoke run")
    parser.add_argument("--database-url", default=SQLITE_URL,
                        help="the app's DATABASE_URL; {tmp} is the run's temporary directory")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-weight part")
    parser.add_argument("--signed-in", action="store_true",
                        help="at 1 stream, also a signed-in account, alternating with the guest")
    parser.add_argument("--profile", metavar="PATH",
                        help="run the app under cProfile and write its stats to PATH")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="serve with WORKERS=N and a redis-server started here (REDIS_URL)")
    parser.add_argument("--budgets", action="store_true",
                        help="the short run `make test` uses: exit 1 when a speed budget is "
                             "broken (see the module docstring)")
    parser.add_argument("--record", action="store_true",
                        help="with --budgets: write the measured CPU per reply to "
                             "bench/budgets.json instead of checking it")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL (scripts/postgres.sh) instead of SQLite; implied by "
                             "--workers N > 1")
    parser.add_argument("--v1-vs-litellm", action="store_true",
                        help="only /v1 beside LiteLLM's proxy (bench/v1_vs_litellm.py)")
    parser.add_argument("--capacity", action="store_true",
                        help="only the largest steady rate of new replies that holds "
                             "(bench/capacity.py): one worker and two, or --workers N")
    parser.add_argument("--window", type=float, metavar="SECONDS",
                        help="with --capacity: seconds of arrivals per rate (default 15)")
    parser.add_argument("--ttft-runs", type=int, metavar="N",
                        help="only app-added TTFT at 1 stream, N consecutive runs of --samples "
                             "each for a guest, a signed-in person and /v1 (bench/ttft_runs.py)")
    args = parser.parse_args()
    if args.v1_vs_litellm:
        import v1_vs_litellm

        return v1_vs_litellm.main()
    if args.workers is not None and args.workers > 1:
        if args.profile:
            parser.error("--profile profiles one process: use it without --workers")
        args.postgres = True
    if args.quick:
        args.samples, args.rounds = 5, 1
    if args.capacity or args.ttft_runs:
        if args.budgets or args.profile or (args.capacity and args.ttft_runs):
            parser.error("--capacity and --ttft-runs each go alone (no --budgets, --profile)")
        if args.capacity:
            import capacity

            return capacity.main(args)
        import ttft_runs

        return ttft_runs.main(args)
    if args.record and not args.budgets:
        parser.error("--record goes with --budgets")
    if args.budgets:
        if args.workers is not None or args.postgres or args.profile:
            parser.error("--budgets measures the embedded defaults: one worker, SQLite")
        args.samples, args.levels, args.rounds, args.signed_in = 15, [BUDGET_STREAMS], 2, False

    report: dict = {"levels": [], "weight": {}, "cpus": os.cpu_count(),
                    "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "load_before": loadavg()}
    print(f"load average {report['load_before']} on {report['cpus']} CPUs", flush=True)
    with serving(args.workers, args.postgres, args.database_url, args.profile) as stack:
        report["setup"] = stack.setup
        app, fake = stack.app, stack.fake
        print(f"setup: {stack.setup}; app processes {app.pids}", flush=True)
        print(f"fake upstream {stack.fake_url} (pid {fake.pid}), app {stack.app_url} "
              f"(pid {app.pid}), idle RSS {rss_kib(app.pids)} KiB", flush=True)
        print("streams (TTFT = app-added, ms):", flush=True)
        asyncio.run(run_load(args, app, stack.app_url, stack.fake_url, report, fake.pid))
        if not args.no_browser:
            print("first load (Chromium):", flush=True)
            try:
                report["weight"] = asyncio.run(first_load(stack.app_url))
            except Exception as exc:  # keep the stream figures already measured
                print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
            else:
                print_weight("/", report["weight"]["home"])
                print_weight("conversation", report["weight"]["conversation"])
    report["load_after"] = loadavg()

    rss = report.get("rss")
    if rss:
        per = (rss["peak"] - rss["idle"]) / rss["streams"]
        print(f"RSS: idle {rss['idle']} KiB, peak {rss['peak']} KiB "
              f"({rss['open_at_peak']} streams open at the peak sample, {rss['max_open']} at "
              f"most) -> {per:.1f} KiB per open stream ((peak - idle) / {rss['streams']})")
    print(f"load average after: {report['load_after']}")
    print("\ntargets:")
    failed = 0
    for name, value, limit, op, unit in targets(report):
        result = verdict(value, limit, op)
        failed += result == "FAIL"
        print(f"  {result}  {name}: {fmt(value)} {unit} (target {op} {limit:g} {unit})")
    if args.budgets:
        return check_budgets(report, record=args.record)
    table = markdown(report)
    results = RESULTS if args.workers is None else \
        RESULTS.with_name(f"latest-workers-{args.workers}.md")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(table)
    print(f"\n{table}\n(written to {results.relative_to(ROOT)})")
    # The figures are the product; a missed target is reported, not an error exit.
    return 0


if __name__ == "__main__":
    sys.exit(main())
