"""The helpers the HTTP-level tests share: a person's identity and CSRF token, sending a
message and waiting for its reply, message actions as a tab posts them, what the page
shows and what the model was sent, SSE parsing, and waiting for background work."""

import asyncio
import json
import re
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlencode

from bs4 import BeautifulSoup

from tests.fake_upstream import Tokens


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def page_csrf(page: BeautifulSoup) -> str:
    """The CSRF token a page renders into the headers of its htmx requests (on <body>)."""
    return json.loads(page.body["hx-headers:inherited"])["X-CSRF-Token"]


class _BodyTag(HTMLParser):
    """Reads a page up to its <body> tag and keeps that tag's attributes."""

    class Found(Exception):
        pass

    def __init__(self):
        super().__init__()
        self.attributes: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.attributes = dict(attrs)
            raise self.Found


def body_csrf(html: str) -> str:
    """page_csrf of a whole page, parsed only as far as its <body> tag: a whole page (inline
    icons and all) took tens of milliseconds to parse, and most tests open one for its token."""
    parser = _BodyTag()
    try:
        parser.feed(html)
    except _BodyTag.Found:
        pass
    assert parser.attributes is not None, "the page has no <body>"
    return json.loads(parser.attributes["hx-headers:inherited"])["X-CSRF-Token"]


async def csrf(client) -> str:
    """Open the app once so the session has an identity and a CSRF token; return the token."""
    response = await client.get("/")
    return body_csrf(await response.get_data(as_text=True))


async def owner_of(client) -> str:
    """The identity (every owner column's value) of `client`'s session, made on first use."""
    await csrf(client)
    async with client.session_transaction() as session:
        return session["user_identifier"]


class CsrfClient:
    """`client` sending its session's CSRF token in X-CSRF-Token with every POST, PUT, PATCH
    and DELETE, as the page's htmx requests do, plus any `headers` given here; a request's
    own headers win. Everything else (GET, cookies, the app) is the wrapped client's."""

    def __init__(self, client, headers: dict | None = None):
        self.client = client
        self.headers = headers or {}
        self._token: str | None = None

    def __getattr__(self, name):
        return getattr(self.client, name)

    async def token(self) -> str:
        if self._token is None:
            self._token = await csrf(self.client)
        return self._token

    async def _unsafe(self, method: str, path: str, headers: dict | None = None, **kwargs):
        headers = {"X-CSRF-Token": await self.token(), **self.headers, **(headers or {})}
        return await self.client.open(path, method=method, headers=headers, **kwargs)

    async def post(self, path: str, **kwargs):
        return await self._unsafe("POST", path, **kwargs)

    async def put(self, path: str, **kwargs):
        return await self._unsafe("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs):
        return await self._unsafe("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs):
        return await self._unsafe("DELETE", path, **kwargs)


async def send(client, content: str, conversation_id: int | None = None, token: str | None = None,
               htmx: bool = True, **fields):
    """POST /messages as the composer does (a form with its token); `fields` are more of the
    form (model, temperature)."""
    token = token or await csrf(client)
    form = {"content": content, "csrf_token": token, **fields}
    if conversation_id:
        form["conversation_id"] = str(conversation_id)
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post("/messages", form=form, headers=headers)


def new_id(response_html: str) -> list[int]:
    """The message ids a response inserts into the thread, in order."""
    return [int(a["data-message-id"]) for a in soup(response_html).select("article.message")]


async def start_reply(client, fake_upstream, *replies, content: str = "hi",
                      conversation_id: int | None = None, **fields) -> int:
    """Queue the fake's `replies` (none: its default answer), send `content` (`fields`: more
    of the composer's form); return the reply's id at once, while it streams."""
    fake_upstream.enqueue(*replies)
    response = await send(client, content, conversation_id, **fields)
    return new_id(await response.get_data(as_text=True))[-1]


async def exchange(client, fake_upstream, content: str, answer: str,
                   conversation_id: int | None = None, **tokens) -> tuple[int, int]:
    """Send `content`, let the fake answer `answer`; return (user id, reply id) when done."""
    fake_upstream.enqueue(Tokens([answer], **tokens))
    response = await send(client, content, conversation_id)
    user_id, reply_id = new_id(await response.get_data(as_text=True))
    await finished(reply_id)
    return user_id, reply_id


async def act(client, message_id: int, action: str, tab: str = "tab-a", **form):
    """POST an action as htmx does from a tab."""
    # A list value is a repeated field (reason chips).
    body = urlencode([(k, item) for k, v in form.items()
                      for item in (v if isinstance(v, list) else [v])])
    return await CsrfClient(client).post(
        f"/messages/{message_id}/{action}", data=body,
        headers={"HX-Request": "true", "X-Tab-Id": tab,
                 "Content-Type": "application/x-www-form-urlencoded"})


async def act_until_done(client, message_id: int, action: str, **form) -> list[int]:
    """POST an action that starts a reply (regenerate, retry, edit) and wait for that reply to
    end; return the ids of the messages it inserted."""
    ids = new_id(await (await act(client, message_id, action, **form)).get_data(as_text=True))
    await finished(ids[-1])
    return ids


async def vote(client, message_id: int, rating: int, **kwargs):
    """POST /rate_message/<id> as a program does: {"rating": rating}."""
    return await CsrfClient(client).post(f"/rate_message/{message_id}", json={"rating": rating},
                                         **kwargs)


async def follow_tab_events(app, message_id: int):
    """Follow the tab events of `message_id`'s conversation from now on, as another open tab
    of it does (an async iterator of events; close it when done)."""
    from hyperchat.store.schema import Message

    conversation_id = (await Message.get(id=message_id)).conversation_id
    bus = app.app.extensions["events"]
    return bus.follow(conversation_id, await bus.position(conversation_id), 5)


async def shown(client, conversation_id: int) -> list[tuple[str, str]]:
    """The conversation page's messages: (role, text) in order."""
    page = soup(await (await client.get(f"/c/{conversation_id}")).get_data(as_text=True))
    return [(a["class"][1], a.select_one(".message-content").get_text().strip())
            for a in page.select("#thread article.message")]


def sent(fake_upstream) -> list[tuple[str, str]]:
    """The messages of the latest upstream request: (role, content)."""
    return [(m["role"], m["content"]) for m in fake_upstream.requests[-1]["json"]["messages"]]


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


async def no_reply_streaming() -> None:
    """Wait until no reply anywhere is still streaming."""
    from hyperchat.store.schema import Message, Status

    async def none():
        return not await Message.filter(status=Status.STREAMING).exists()

    await wait_until(none)


class Clock:
    """A clock tests move by hand (rate-limit windows)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def token_text(events: list[dict]) -> str:
    """A reply stream's text: every unnamed frame before the final fragment frame."""
    frames = [e for e in events if e["id"] and e["event"] is None]
    return "".join(e["data"] for e in frames[:-1])


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
