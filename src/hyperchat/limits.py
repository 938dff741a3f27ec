"""Rate limits: how many times a person may do something in a sliding window.

`LimitStore` is the seam for several workers: a Redis store (a sorted set per key, trimmed
and counted in one MULTI) fills the same interface. Keys name the person (their session's
identifier), never a client-supplied address.
"""

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from hyperchat.errors import HTTPError
from hyperchat.rendering import format_wait


class TooManyRequests(HTTPError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    name: str  # what people are told they did too often: "actions", "regenerations"
    count: int
    window: float  # seconds


class LimitStore(Protocol):
    async def hit(self, key: str, limit: Limit) -> float:
        """Count one use; return 0 when allowed, else the seconds until one is allowed
        (a refused use is not counted)."""
        ...

    async def cleanup(self) -> int: ...


class MemoryLimitStore:
    """A sliding log of timestamps per key, in this process's memory."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, limit: Limit) -> float:
        async with self._lock:
            now = self.clock()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - limit.window:
                hits.popleft()
            if len(hits) >= limit.count:
                return hits[0] + limit.window - now
            hits.append(now)
            return 0.0

    async def cleanup(self, max_window: float = 3600) -> int:
        """Drop keys with no use in the last `max_window` seconds."""
        async with self._lock:
            now = self.clock()
            idle = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - max_window]
            for key in idle:
                del self._hits[key]
            return len(idle)


async def check(store: LimitStore, person: str, *limits: Limit) -> None:
    """Count one use against each limit; raise TooManyRequests at the first one spent."""
    for limit in limits:
        wait = await store.hit(f"{limit.name}:{person}", limit)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            per = "minute" if limit.window == 60 else f"{limit.window:g} s"
            raise TooManyRequests(
                f"Too many {limit.name}: at most {limit.count} per {per}. "
                f"Try again in {format_wait(seconds)}; nothing you typed was lost.",
                seconds)
