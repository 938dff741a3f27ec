"""File descriptors the server holds at the SSE connection caps.

Starts `python -m hyperchat` (the offline demo model, a fresh SQLite database) and, from one
address on loopback:
  1. one cookie opens conversation event channels until it is refused (the per-person cap);
  2. fresh cookies keep opening channels until the address is refused (the per-address cap);
  3. every further attempt is refused and leaves nothing open.
It prints the server's open file descriptors (/proc/<pid>/fd) before, at each cap, after the
refused attempts and after everything is closed, and the peak.

    .venv/bin/python bench/sse_fds.py [--attempts 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def request(port: int, method: str, path: str, cookie: str = "", body: str = "",
                  headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write((f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  f"Cookie: {cookie}\r\nContent-Length: {len(body)}\r\n{extra}\r\n{body}")
                 .encode())
    raw = await reader.read()
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    found = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        found.setdefault(name.lower(), []).append(value.strip())
    return status, found, rest


async def identity(port: int) -> tuple[str, str]:
    """A fresh cookie and its CSRF token."""
    status, headers, body = await request(port, "GET", "/")
    cookie = headers["set-cookie"][0].split(";")[0]
    token = re.search(rb'name="csrf-token" content="([^"]+)"', body).group(1).decode()
    return cookie, token


async def open_channel(port: int, path: str, cookie: str):
    """An SSE request: (status, writer kept open when accepted)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    line = await reader.readline()
    status = int(line.split()[1])
    if status != 200:
        writer.close()
        await writer.wait_closed()
        return status, None
    return status, writer


async def conversation(port: int, cookie: str, token: str) -> int:
    status, headers, _ = await request(
        port, "POST", "/messages", cookie, f"content=hi&csrf_token={token}",
        {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"})
    return int(headers["hx-push-url"][0].rsplit("/", 1)[1])


async def main(attempts: int) -> None:
    port = free_port()
    data = tempfile.mkdtemp(prefix="hyperchat-fds-")
    env = {**os.environ, "PORT": str(port), "HYPERCHAT_DATA_DIR": data,
           "DATABASE_URL": f"sqlite://{data}/db.sqlite3", "OPENROUTER_API_KEY": "",
           "DEFAULT_MODEL": "", "HYPERCHAT_DEMO_TOKEN_DELAY": "0"}
    server = subprocess.Popen([sys.executable, "-m", "hyperchat"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    open_writers = []
    try:
        for _ in range(100):
            try:
                await request(port, "GET", "/health")
                break
            except OSError:
                await asyncio.sleep(0.1)
        limit = subprocess.run(["sh", "-c", f"grep 'open files' /proc/{server.pid}/limits"],
                               capture_output=True, text=True).stdout.split()
        print(f"server pid {server.pid}, open files limit {limit[3] if limit else '?'}")
        before = fds(server.pid)
        print(f"before:                           {before} fds")
        peak = before

        cookie, token = await identity(port)
        cid = await conversation(port, cookie, token)
        accepted = refused = 0
        while True:
            status, writer = await open_channel(port, f"/c/{cid}/events", cookie)
            if writer is None:
                refused += 1
                break
            accepted += 1
            open_writers.append(writer)
        peak = max(peak, fds(server.pid))
        print(f"one cookie: {accepted} channels open, then {status}; "
              f"server {fds(server.pid)} fds")

        people = 1
        while True:
            cookie, token = await identity(port)
            people += 1
            cid = await conversation(port, cookie, token)
            status, writer = await open_channel(port, f"/c/{cid}/events", cookie)
            if writer is None:
                break
            open_writers.append(writer)
            while True:
                status, writer = await open_channel(port, f"/c/{cid}/events", cookie)
                if writer is None:
                    break
                open_writers.append(writer)
        at_cap = fds(server.pid)
        peak = max(peak, at_cap)
        print(f"one address: {len(open_writers)} channels open ({people} cookies), "
              f"then {status}; server {at_cap} fds")

        t0 = time.perf_counter()
        statuses = {}
        for _ in range(attempts):
            status, writer = await open_channel(port, f"/c/{cid}/events", cookie)
            statuses[status] = statuses.get(status, 0) + 1
            if writer is not None:
                open_writers.append(writer)
        after_refused = fds(server.pid)
        peak = max(peak, after_refused)
        later = []
        for _ in range(6):
            await asyncio.sleep(1)
            later.append(fds(server.pid))
        print(f"{attempts} more attempts: {statuses} in {time.perf_counter() - t0:.1f} s; "
              f"server {after_refused} fds right after, then each second {later}")
        status, _, _ = await request(port, "GET", "/health")
        print(f"/health meanwhile: {status}")

        for writer in open_writers:
            writer.close()
        open_writers.clear()
        for _ in range(100):
            await asyncio.sleep(0.1)
            if fds(server.pid) <= before + 2:
                break
        print(f"all closed:                       {fds(server.pid)} fds (peak {peak})")
    finally:
        for writer in open_writers:
            writer.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=300)
    asyncio.run(main(parser.parse_args().attempts))
