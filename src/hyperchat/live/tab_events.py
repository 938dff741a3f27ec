"""Live action events: what one tab does to a conversation appears in its other tabs.

Each conversation has a numbered channel of rendered fragments (the same partials the acting
tab's response carries). A tab follows it over SSE (`GET /c/<id>/events`) from the position
its page was rendered at, so nothing between render and connect is lost; a reconnect resumes
from `Last-Event-ID`. Positions carry the process's epoch: after a restart, or when a tab has
fallen behind the kept backlog, it is told to reload its thread instead of missing events.

Each event also carries `data`, the same change as JSON for programs (`messageId`,
`progress`, `content`...), which `GET /api/conversations/<id>/events` sends as named
`event: <type>` frames; an event without data only moves that stream's position.

`EventBus` is the seam for several workers: RedisEventBus (live/redis_backed.py, a capped stream
per conversation) fills the same interface when REDIS_URL is set. `position` is async for it
(one Redis read); templates call it through Jinja's async mode, which awaits it.
"""

import asyncio
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

# The event types, by the names API clients know them.
MESSAGE_REGENERATING = "message_regenerating"
REGENERATION_PROGRESS = "regeneration_progress"
MESSAGE_REGENERATED = "message_regenerated"
MESSAGE_EDITED = "message_edited"
MESSAGE_DELETED = "message_deleted"
FEEDBACK_SUBMITTED = "feedback_submitted"
# Ours: the branch shown changed (a version chosen, a delete undone, a reply continued).
THREAD_CHANGED = "thread_changed"
# A room's people, roles, or settings (title, mode) changed. The channel renders these for
# each person looking (their role decides what their panel offers) and ends the stream of
# someone no longer in the room; the event's html is empty.
MEMBERS_CHANGED = "members_changed"
ROOM_CHANGED = "room_changed"
PER_VIEWER = (MEMBERS_CHANGED, ROOM_CHANGED)
# A message sent in the conversation: its bubbles (and the reply's, which each tab streams).
MESSAGE_CREATED = "message_created"
# A person's own change (their vote and feedback in a room): `personal(type, who)` names
# an event only that person's tabs are sent.
PERSONAL = "@"


def personal(type: str, who: str) -> str:
    return f"{type}{PERSONAL}{who}"


def audience(type: str) -> str | None:
    """The one person a personal event is for, or None when it is for everyone."""
    return type.partition(PERSONAL)[2] or None


def kind(type: str) -> str:
    """An event's type without its audience: the name programs know it by."""
    return type.partition(PERSONAL)[0]


# Sent to a tab that cannot be brought up to date event by event.
RESYNC = "resync"


@dataclass(frozen=True)
class Event:
    position: str  # "<epoch>-<seq>": the SSE id
    type: str
    html: str
    origin: str | None  # the tab that acted, which already has the change
    data: dict | None = None  # the change as JSON, for the programs' stream


class EventBus(Protocol):
    async def position(self, conversation_id: int) -> str: ...
    async def publish(self, conversation_id: int, type: str, html: str,
                      origin: str | None, data: dict | None = None) -> Event: ...
    def follow(self, conversation_id: int, after: str | None,
               keepalive: float) -> AsyncIterator[Event | None]: ...
    def cleanup(self) -> int: ...


@dataclass
class _Channel:
    events: deque = field(default_factory=deque)
    seq: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    readers: int = 0

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class MemoryEventBus:
    """One process's channels, each keeping its latest `backlog` events."""

    def __init__(self, backlog: int = 200) -> None:
        self.backlog = backlog
        self.epoch = secrets.token_hex(4)
        self._channels: dict[int, _Channel] = {}

    def _channel(self, conversation_id: int) -> _Channel:
        return self._channels.setdefault(conversation_id, _Channel())

    async def position(self, conversation_id: int) -> str:
        channel = self._channels.get(conversation_id)
        return f"{self.epoch}-{channel.seq if channel else 0}"

    async def publish(self, conversation_id: int, type: str, html: str,
                      origin: str | None, data: dict | None = None) -> Event:
        channel = self._channel(conversation_id)
        channel.seq += 1
        event = Event(f"{self.epoch}-{channel.seq}", type, html, origin, data)
        channel.events.append((channel.seq, event))
        while len(channel.events) > self.backlog:
            channel.events.popleft()
        channel.notify()
        return event

    def _start(self, channel: _Channel, after: str | None) -> int | None:
        """The seq to follow from, or None when the tab missed events we no longer have."""
        if not after:
            return channel.seq
        epoch, _, seq = after.partition("-")
        if epoch != self.epoch or not seq.isdigit() or int(seq) > channel.seq:
            return None
        oldest = channel.events[0][0] if channel.events else channel.seq + 1
        if int(seq) < oldest - 1:
            return None
        return int(seq)

    async def follow(self, conversation_id: int, after: str | None,
                     keepalive: float) -> AsyncIterator[Event | None]:
        """Yield each event after `after`, then each new one; None after `keepalive`
        seconds of silence (for a keep-alive). Runs until the reader goes away."""
        channel = self._channel(conversation_id)
        channel.readers += 1
        try:
            position = self._start(channel, after)
            if position is None:
                position = channel.seq
                yield Event(f"{self.epoch}-{position}", RESYNC, "", None)
            while True:
                waiter = channel.changed
                pending = [event for seq, event in channel.events if seq > position]
                if pending:
                    for event in pending:
                        yield event
                    position = int(pending[-1].position.rsplit("-", 1)[1])
                    continue
                try:
                    async with asyncio.timeout(keepalive):
                        await waiter.wait()
                except TimeoutError:
                    yield None
        finally:
            channel.readers -= 1

    def cleanup(self) -> int:
        """Forget channels nobody follows (their tabs resync if they come back)."""
        idle = [cid for cid, channel in self._channels.items() if not channel.readers]
        for conversation_id in idle:
            del self._channels[conversation_id]
        return len(idle)
