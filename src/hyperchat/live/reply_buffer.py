"""Live reply buffers: the generation task writes numbered chunks, any number of readers
replay from a position and follow.

`StreamHub` is the seam for running several workers: RedisStreamHub (live/redis_backed.py, a stream
per message for chunks, a channel for stop requests) fills the same interface when REDIS_URL
is set, so a reader on one worker follows a reply generated on another.

A chunk has a kind: the reply's text, or the model's reasoning before (or between) it. Both
kinds share one numbering, so a single position (the SSE id, `?after=`) resumes both without
a duplicate; a batch carries each kind joined on its own. In Redis that is one XADD per chunk
with the kind as a field (`k=r` for reasoning, absent for text), and a reader splits a range by
it. Nothing else about the kinds crosses the seam.
"""

import asyncio
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    TEXT = "text"
    REASONING = "reasoning"


@dataclass
class Batch:
    """Chunks after the reader's position, joined by kind; `seq` is the number of the last
    one. `reasoning` is "" when none of them was reasoning."""

    seq: int
    text: str
    reasoning: str = ""


class StreamHub(Protocol):
    async def open(self, message_id: int, on_stop: Callable[[], None]) -> None: ...
    async def append(self, message_id: int, text: str, kind: Kind = Kind.TEXT) -> int: ...
    async def close(self, message_id: int) -> None: ...
    async def snapshot(self, message_id: int) -> Batch | None: ...
    def follow(self, message_id: int, after: int,
               keepalive: float) -> AsyncIterator[Batch | None]: ...
    async def request_stop(self, message_id: int) -> bool: ...
    async def live(self, message_ids: list[int]) -> set[int]: ...


@dataclass
class _Live:
    on_stop: Callable[[], None]
    # Index i holds chunk number i + 1. A reasoning chunk leaves "" here, so text is still one
    # join of a slice (the hot path: most replies have no reasoning), and goes to `thoughts`
    # with its number, in order.
    chunks: list[str] = field(default_factory=list)
    thoughts: list[tuple[int, str]] = field(default_factory=list)
    closed: bool = False
    # Replaced after every change: a reader waits on the one current when it last looked.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def batch(self, after: int) -> Batch:
        reasoning = ""
        if self.thoughts and self.thoughts[-1][0] > after:
            start = bisect_right(self.thoughts, after, key=lambda thought: thought[0])
            reasoning = "".join(text for _, text in self.thoughts[start:])
        return Batch(len(self.chunks), "".join(self.chunks[after:]), reasoning)


class MemoryStreamHub:
    """One process's live replies, in memory. Finished replies are read from the database."""

    def __init__(self) -> None:
        self._live: dict[int, _Live] = {}

    async def open(self, message_id: int, on_stop: Callable[[], None]) -> None:
        self._live[message_id] = _Live(on_stop=on_stop)

    async def append(self, message_id: int, text: str, kind: Kind = Kind.TEXT) -> int:
        live = self._live[message_id]
        if kind == Kind.TEXT:
            live.chunks.append(text)
        else:
            live.chunks.append("")
            live.thoughts.append((len(live.chunks), text))
        live.notify()
        return len(live.chunks)

    async def close(self, message_id: int) -> None:
        live = self._live.pop(message_id, None)
        if live is not None:
            live.closed = True
            live.notify()

    async def snapshot(self, message_id: int) -> Batch | None:
        live = self._live.get(message_id)
        if live is None:
            return None
        return live.batch(0)

    async def follow(self, message_id: int, after: int,
                     keepalive: float) -> AsyncIterator[Batch | None]:
        """Yield what is new after `after`, then each new batch until the reply closes;
        None after `keepalive` seconds of silence. Ends at once for a reply not live here."""
        live = self._live.get(message_id)
        if live is None:
            return
        position = max(0, after)
        while True:
            changed = live.changed
            if len(live.chunks) > position:
                batch = live.batch(position)
                position = batch.seq
                yield batch
                continue
            if live.closed:
                return
            try:
                # asyncio.timeout, not wait_for: wait_for wraps the wait in a new task each time.
                async with asyncio.timeout(keepalive):
                    await changed.wait()
            except TimeoutError:
                yield None

    async def request_stop(self, message_id: int) -> bool:
        live = self._live.get(message_id)
        if live is None:
            return False
        live.on_stop()
        return True

    async def live(self, message_ids: list[int]) -> set[int]:
        """Which of these replies are live (on any worker: here, only this one)."""
        return {message_id for message_id in message_ids if message_id in self._live}

    def __len__(self) -> int:
        return len(self._live)
