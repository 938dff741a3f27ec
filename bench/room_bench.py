"""`make bench`, group rooms: one AI reply streamed to every member's open tab.

The fake upstream and the app (`python -m hyperchat`, SQLite) as in bench/run.py, whose
client this reuses. A group room of MEMBERS accounts: each member has a tab open, that is
the conversation's live channel (`/c/<id>/events`), on which the asker's message arrives
with its reply's bubble; the tab then follows the reply's stream on a second connection, as
the browser does. The asker sends `@ai ...` and follows its own reply. Against that, a solo
reply: one person, one tab, the same reply.

Reported per case (the median over ROUNDS rounds): the app's CPU per reply (from just before
the POST to the last tab's end of stream) and the p99 of the gaps between token frames as
the tabs received them (all tabs' gaps together), with the worst tab's lag behind the
asker's first token.

    .venv/bin/python bench/room_bench.py [--members 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import (  # noqa: E402
    User,
    cpu_seconds,
    loadavg,
    percentile,
    sse_events,
    start_app,
    start_fake,
)

ROUNDS = 5
MEMBERS = 20


@dataclass
class TabRecord:
    """One tab's view of the reply: when each token frame arrived."""

    frames: list[float] = field(default_factory=list)
    done: bool = False


class Tab(User):
    """A second connection of a signed-in person (same cookies): a browser tab's stream."""

    def __init__(self, person: User):
        where = person.conn
        super().__init__(where.host, where.port)
        self.cookies = person.cookies
        self.csrf = person.csrf


async def json_call(user: User, method: str, target: str, body: dict) -> dict:
    response = await user.fetch(method, target, {"Content-Type": "application/json",
                                                 "X-CSRF-Token": user.csrf},
                                json.dumps(body).encode())
    data = (await response.read()).decode()
    response.release()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{method} {target}: HTTP {response.status} {data[:200]}")
    return json.loads(data) if data else {}


async def post_message(user: User, content: str, conversation_id: int | None,
                       tab: str) -> str:
    """Send as the composer does; return the reply's stream URL."""
    form = {"content": content, "csrf_token": user.csrf}
    if conversation_id:
        form["conversation_id"] = str(conversation_id)
    response = await user.fetch("POST", "/messages", {
        "HX-Request": "true", "X-Tab-Id": tab,
        "Content-Type": "application/x-www-form-urlencoded"}, urlencode(form).encode())
    text = (await response.read()).decode()
    response.release()
    response.raise_for_status()
    start = text.index('/messages/', text.index("stream-source"))
    return text[start:text.index('"', start)].replace("&amp;", "&")


async def follow_reply(tab: Tab, url: str, record: TabRecord) -> None:
    stream = await tab.fetch("GET", url, {"Accept": "text/event-stream"})
    stream.raise_for_status()
    buffer = bytearray()
    async for chunk in stream.chunks():
        now = time.perf_counter()
        buffer += chunk.replace(b"\r\n", b"\n")
        for event in sse_events(buffer):
            if event.get("event") == "done":
                record.done = True
            elif "id" in event and "event" not in event and "<" not in event.get("data", "<"):
                record.frames.append(now)
        if record.done:
            break
    stream.conn.close()


async def member_tab(person: User, conversation_id: int, name: str, record: TabRecord,
                     ready: asyncio.Event) -> None:
    """Follow the room's channel until the asker's reply bubble arrives; then its stream."""
    channel = Tab(person)
    response = await channel.fetch("GET", f"/c/{conversation_id}/events?tab={name}",
                                   {"Accept": "text/event-stream"})
    response.raise_for_status()
    ready.set()
    buffer = bytearray()
    url = None
    async for chunk in response.chunks():
        buffer += chunk.replace(b"\r\n", b"\n")
        for event in sse_events(buffer):
            data = event.get("data", "")
            if "stream-source" in data:
                start = data.index("/messages/", data.index("stream-source"))
                url = data[start:data.index('"', start)].replace("&amp;", "&")
        if url:
            break
    channel.conn.close()
    await follow_reply(Tab(person), url, record)


def gaps_ms(records: list[TabRecord]) -> list[float]:
    return [(b - a) * 1000 for r in records for a, b in zip(r.frames, r.frames[1:],
                                                              strict=False)]


async def one_round(app_pids: list[int], asker: User, others: list[User],
                    conversation_id: int | None) -> tuple[float, float | None, float | None]:
    """(app CPU ms for the reply, frame-gap p99 ms, worst tab's first-frame lag ms)."""
    records = [TabRecord() for _ in others]
    readies = [asyncio.Event() for _ in others]
    tasks = [asyncio.create_task(member_tab(p, conversation_id, f"tab-{i}", r, ready))
             for i, (p, r, ready) in enumerate(zip(others, records, readies, strict=True))]
    await asyncio.gather(*(ready.wait() for ready in readies))
    own = TabRecord()
    cpu0 = cpu_seconds(app_pids)
    url = await post_message(asker, "@ai tell us a story", conversation_id, "asker-tab")
    await follow_reply(Tab(asker), url, own)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    cpu = (cpu_seconds(app_pids) - cpu0) * 1000
    every = [own, *records]
    if not all(r.done and r.frames for r in every):
        raise RuntimeError("a tab did not receive the whole reply")
    lag = max(r.frames[0] for r in every) - own.frames[0]
    return cpu, percentile(gaps_ms(every), 99), lag * 1000


async def run(app_url: str, app_pids: list[int], members: int, rounds: int) -> dict:
    where = urlsplit(app_url)
    people = [User(where.hostname, where.port) for _ in range(members)]
    for i, person in enumerate(people):
        await person.load_page()
        await person.sign_up(f"bench_member_{i}")
    owner = people[0]
    # The room: the owner's conversation, made a group, everyone invited.
    await post_message(owner, "Welcome", None, "setup")
    await asyncio.sleep(2.5)  # the first reply ends (the fake's stream lasts 1.8 s)
    sessions = await (await owner.fetch("GET", "/api/chat/sessions/")).read()
    room_id = json.loads(sessions)["sessions"][0]["id"]
    owner.conn.close()
    await json_call(owner, "PUT", f"/conversations/{room_id}", {"mode": "group"})
    for i in range(1, members):
        await json_call(owner, "POST", f"/api/conversations/{room_id}/members",
                        {"username": f"bench_member_{i}"})
    # The solo baseline: the owner's own other conversation.
    await post_message(owner, "Solo", None, "setup")
    await asyncio.sleep(2.5)
    solo_id = json.loads(await (await owner.fetch("GET", "/api/chat/sessions/")).read())[
        "sessions"][0]["id"]
    owner.conn.close()
    results: dict[str, list[tuple]] = {"solo": [], "room": []}
    for _ in range(rounds):
        results["solo"].append(await one_round(app_pids, owner, [], solo_id))
        results["room"].append(await one_round(app_pids, owner, people[1:], room_id))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    print(f"load average {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="hyperchat-room-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fake, fake_url = start_fake(tmp)
        app = None
        try:
            app, app_url = start_app(tmp, fake_url, "sqlite://{tmp}/bench.sqlite3")
            results = asyncio.run(run(app_url, app.pids, args.members, args.rounds))
        finally:
            if app is not None:
                app.stop()
            fake.stop()
    print(f"one AI reply (80 tokens, 20 ms apart), median of {args.rounds} rounds:")
    for case, label in (("solo", "solo, 1 tab"),
                        ("room", f"group, {args.members} members' tabs")):
        cpu, p99, lag = (statistics.median(v for v in column if v is not None)
                         for column in zip(*results[case], strict=True))
        print(f"  {label:<28} app CPU {cpu:6.1f} ms per reply | frame gap p99 {p99:5.1f} ms"
              f" | last tab's first frame {lag:5.1f} ms after the asker's")
    print(f"load average after {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
