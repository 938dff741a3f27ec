"""Small helpers shared by the HTTP-level tests."""

import asyncio
import json
import re
import subprocess

from bs4 import BeautifulSoup


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def page_csrf(page: BeautifulSoup) -> str:
    """The CSRF token a page renders into the headers of its htmx requests (on <body>)."""
    return json.loads(page.body["hx-headers:inherited"])["X-CSRF-Token"]


async def csrf(client) -> str:
    """Open the app once so the session has an identity and a CSRF token; return the token."""
    response = await client.get("/")
    return page_csrf(soup(await response.get_data(as_text=True)))


async def send(client, content: str, conversation_id: int | None = None, token: str | None = None,
               htmx: bool = True):
    token = token or await csrf(client)
    form = {"content": content, "csrf_token": token}
    if conversation_id:
        form["conversation_id"] = str(conversation_id)
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post("/messages", form=form, headers=headers)


def parse_sse(raw: str) -> list[dict]:
    """Parse an SSE body into events: {"id", "event", "data"}; comments as {"comment"}."""
    events = []
    for block in re.split(r"\n\n", raw):
        if not block:
            continue
        event = {"id": None, "event": None, "data": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                event.setdefault("comment", line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                event["data"].append(value)
            elif field in ("id", "event"):
                event[field] = value
        event["data"] = "\n".join(event["data"])
        events.append(event)
    return events


async def finished(message_id: int):
    """Wait until a reply is no longer streaming; return it as saved."""
    from hyperchat.store.schema import Message, Status

    async def done():
        message = await Message.get(id=message_id)
        return message if message.status != Status.STREAMING else None

    return await wait_until(done)


class Clock:
    """A clock tests move by hand (rate-limit windows)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def final_frame(events: list[dict]) -> str:
    """The data of a reply's final frame: the one before "done". A reply saved a moment
    before its live buffer closes may still replay its last text first, so never events[0]."""
    assert events[-1]["event"] == "done", events[-1]
    return events[-2]["data"]


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Await an async predicate until it is true (for state that a background task sets)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


def count_queries(monkeypatch) -> list[str]:
    """Record every SQL statement the default connection runs from now on (for N+1 tests)."""
    from tortoise import connections

    executed: list[str] = []
    connection = connections.get("default")
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(connection, name)

        async def counting(*args, _original=original, **kwargs):
            executed.append(args[0])
            return await _original(*args, **kwargs)

        monkeypatch.setattr(connection, name, counting)
    return executed


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM (a clean stop for our servers), then SIGKILL if it is still there."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
