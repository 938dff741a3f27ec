"""Limits on starting replies: requests per minute, concurrent replies, daily budgets.

One check guards every request that starts a generation, from the UI or the JSON API.
Requests per minute are counted in a `QuotaStore`: this process's memory by default, Redis
when REDIS_URL is set (so several workers share the counts). They are counted per person
(the session) and per remote address (the socket's peer, or the client a trusted proxy
names: web/proxies.py), so clearing cookies does not reset the limit. Concurrent replies are
the person's replies still streaming, read from the database, which every worker shares.
Budgets count UTC days from the usage records.

Until accounts exist a person is a cookie, and a fresh cookie would bring fresh limits: the
concurrent replies and the server's daily budget are also counted per address (each reply and
usage record keeps the address that asked for it).
"""

import asyncio
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from quart import current_app, g, request
from tortoise import connections
from tortoise.expressions import Q

from hyperchat.metering import usage
from hyperchat.store.database import placeholder
from hyperchat.store.schema import Budget, Message, Role, Status
from hyperchat.web.errors import HTTPError
from hyperchat.web.rendering import format_wait

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds: the limits are per minute


class TooManyRequests(HTTPError):
    status = 429

    def __init__(self, message: str, retry_after: float):
        seconds = max(1, math.ceil(retry_after))
        super().__init__(message, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class QuotaStore(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one request unless `limit` were already counted in the last `window`
        seconds; return 0 when counted, else the seconds until one would be."""

    async def used(self, key: str, window: float) -> tuple[int, float]:
        """(requests counted in the window, seconds until the oldest leaves it)."""

    async def acquire(self, limits: dict[str, int], token: str, ttl: float) -> str | None:
        """Take a slot named `token` under every key of `limits` (key: how many slots it
        has), all or none; return None when taken, else the first key that is full. A slot
        lasts `ttl` seconds unless refreshed, so a process that dies frees its slots."""

    async def refresh(self, keys: list[str], token: str, ttl: float) -> None: ...

    async def release(self, keys: list[str], token: str) -> None: ...

    async def holders(self, key: str) -> int:
        """How many slots of `key` are held."""

    async def aclose(self) -> None: ...


class MemoryQuotaStore:
    """A sliding log of request times per key, in this process's memory."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()
        # Slots: key -> {token: when it expires}.
        self._slots: dict[str, dict[str, float]] = {}

    def _trim(self, key: str, window: float, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        return hits

    async def hit(self, key: str, limit: int, window: float) -> float:
        async with self._lock:
            now = self.clock()
            hits = self._trim(key, window, now)
            if len(hits) >= limit:
                return hits[len(hits) - limit] + window - now
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys so memory stays bounded
                for idle in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
                    del self._hits[idle]
            return 0.0

    async def used(self, key: str, window: float) -> tuple[int, float]:
        async with self._lock:
            now = self.clock()
            hits = self._trim(key, window, now)
            return len(hits), (hits[0] + window - now) if hits else 0.0

    def _held(self, key: str, now: float) -> dict[str, float]:
        held = self._slots.setdefault(key, {})
        for token in [t for t, expires in held.items() if expires <= now]:
            del held[token]
        return held

    async def acquire(self, limits: dict[str, int], token: str, ttl: float) -> str | None:
        now = self.clock()
        for key, limit in limits.items():
            if len(self._held(key, now)) >= limit:
                return key
        for key in limits:
            self._slots[key][token] = now + ttl
        return None

    async def refresh(self, keys: list[str], token: str, ttl: float) -> None:
        now = self.clock()
        for key in keys:
            if token in self._slots.get(key, {}):
                self._slots[key][token] = now + ttl

    async def release(self, keys: list[str], token: str) -> None:
        for key in keys:
            held = self._slots.get(key)
            if held is not None:
                held.pop(token, None)
                if not held:
                    del self._slots[key]

    async def holders(self, key: str) -> int:
        return len(self._held(key, self.clock())) if key in self._slots else 0

    async def aclose(self) -> None:
        pass


# Trim, count and add in one atomic step, so two workers never both take the last slot.
_HIT = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return '0'
"""


# Every key's expired slots go, then all keys are checked before any slot is taken: two
# workers never both take the last one. Scores are expiry times (the Redis server's clock).
_ACQUIRE = """
local now, ttl, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then return i end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, token)
  redis.call('PEXPIRE', key, math.ceil(ttl * 1000))
end
return 0
"""


class RedisQuotaStore:
    """The same sliding log in Redis sorted sets (score: the request's time), shared by
    every worker. Times come from the Redis server's clock, the one clock all agree on."""

    def __init__(self, url: str, prefix: str = "hyperchat:quota:") -> None:
        import redis.asyncio as redis  # only needed when REDIS_URL is set

        self.redis = redis.from_url(url)
        self.prefix = prefix
        self._hit = self.redis.register_script(_HIT)
        self._acquire = self.redis.register_script(_ACQUIRE)
        self._errors = redis.RedisError

    async def _now(self) -> float:
        seconds, micros = await self.redis.time()
        return seconds + micros / 1_000_000

    async def hit(self, key: str, limit: int, window: float) -> float:
        wait = await self._hit(keys=[self.prefix + key],
                               args=[await self._now(), window, limit, uuid.uuid4().hex])
        return max(0.0, float(wait))

    async def used(self, key: str, window: float) -> tuple[int, float]:
        now = await self._now()
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zcard(name)
            pipe.zrange(name, 0, 0, withscores=True)
            _, count, oldest = await pipe.execute()
        return count, (oldest[0][1] + window - now) if oldest else 0.0

    # Slots fail open: with Redis lost, a stream is let through (and a held slot expires by
    # itself) rather than every page's live channel failing with it. The live seams report
    # the outage; the caps come back with Redis.
    async def acquire(self, limits: dict[str, int], token: str, ttl: float) -> str | None:
        keys = list(limits)
        try:
            full = await self._acquire(keys=[self.prefix + key for key in keys],
                                       args=[await self._now(), ttl, token, *limits.values()])
        except (self._errors, OSError):
            log.warning("stream slots: Redis unavailable, letting the stream through")
            return None
        return keys[int(full) - 1] if int(full) else None

    async def refresh(self, keys: list[str], token: str, ttl: float) -> None:
        try:
            expires = await self._now() + ttl
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zadd(self.prefix + key, {token: expires}, xx=True)
                    pipe.pexpire(self.prefix + key, math.ceil(ttl * 1000))
                await pipe.execute()
        except (self._errors, OSError):
            log.warning("stream slots: Redis unavailable, slot not refreshed")

    async def release(self, keys: list[str], token: str) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(self.prefix + key, token)
                await pipe.execute()
        except (self._errors, OSError):
            log.warning("stream slots: Redis unavailable, the slot will expire by itself")

    async def holders(self, key: str) -> int:
        return await self.redis.zcount(self.prefix + key, f"({await self._now()}", "+inf")

    async def aclose(self) -> None:
        await self.redis.aclose()


def store_for(redis_url: str | None) -> QuotaStore:
    return RedisQuotaStore(redis_url) if redis_url else MemoryQuotaStore()


# --------------------------------------------------------------------------- budgets


@dataclass(frozen=True)
class Limits:
    per_minute: int
    per_address_per_minute: int
    concurrent: int
    daily_tokens: int | None
    daily_cost: Decimal | None
    concurrent_per_address: int = 0
    address_daily_tokens: int | None = None
    address_daily_cost: Decimal | None = None


def _positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _positive_decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return number if number.is_finite() and number > 0 else None


def _stricter(a, b):
    return b if a is None else a if b is None else min(a, b)


async def limits_for(person: str) -> Limits:
    """The server's limits, with the person's own budget where it is stricter."""
    return _limits(await Budget.get_or_none(owner=person))


def _limits(own: Budget | None) -> Limits:
    config = current_app.config
    server_tokens = _positive_int(config.get("DAILY_TOKEN_BUDGET"))
    server_cost = _positive_decimal(config.get("DAILY_COST_BUDGET"))
    address_tokens = config.get("DAILY_TOKEN_BUDGET_PER_ADDRESS")
    address_cost = config.get("DAILY_COST_BUDGET_PER_ADDRESS")
    return Limits(
        per_minute=int(config["RATE_LIMIT_PER_MINUTE"]),
        per_address_per_minute=int(config["RATE_LIMIT_PER_ADDRESS_PER_MINUTE"]),
        concurrent=int(config["CONCURRENT_GENERATIONS"]),
        daily_tokens=_stricter(server_tokens, own.daily_tokens if own else None),
        daily_cost=_stricter(server_cost, _positive_decimal(own.daily_cost) if own else None),
        concurrent_per_address=int(config["CONCURRENT_GENERATIONS_PER_ADDRESS"]),
        # Unset: the server's budget for one person, so that a fresh cookie adds nothing.
        address_daily_tokens=server_tokens if address_tokens is None
        else _positive_int(address_tokens),
        address_daily_cost=server_cost if address_cost is None
        else _positive_decimal(address_cost),
    )


def next_reset(now: datetime | None = None) -> datetime:
    return usage.day_start(now or datetime.now(UTC)) + timedelta(days=1)


def _reset_text(now: datetime) -> str:
    reset = next_reset(now)
    return (f"It resets at midnight UTC ({reset:%Y-%m-%d %H:%M} UTC), in "
            f"{format_wait(math.ceil((reset - now).total_seconds()))}.")


async def budget_and_running(person: str, address: str | None = None
                             ) -> tuple[Budget | None, int, int]:
    """The person's own budget, their replies being written and those their address asked
    for, in one round trip: every send asks all three before its reply may start, and each
    query is a hop to the database's thread (SQLite) or server. Counts what running()
    counts from the database."""
    db = connections.get("default")
    mark, address_mark = placeholder(1), placeholder(2)  # the person's is used twice
    rows = await db.execute_query_dict(
        "SELECT b.daily_tokens AS daily_tokens, b.daily_cost AS daily_cost, "
        "(SELECT COUNT(*) FROM message m JOIN conversation c ON c.id = m.conversation_id "
        f"WHERE COALESCE(m.author, c.owner) = {mark} AND m.role = '{Role.ASSISTANT}' "
        f"AND m.status = '{Status.STREAMING}') AS running, "
        f"(SELECT COUNT(*) FROM message m WHERE m.client_address = {address_mark} "
        f"AND m.role = '{Role.ASSISTANT}' AND m.status = '{Status.STREAMING}') AS by_address "
        f"FROM (SELECT 1 AS one) AS x LEFT JOIN budget b ON b.owner = {mark}",
        [person, address])
    row = rows[0]
    own = None
    if row["daily_tokens"] is not None or row["daily_cost"] is not None:
        own = Budget(owner=person, daily_tokens=row["daily_tokens"],
                     daily_cost=_positive_decimal(row["daily_cost"]))
    return own, int(row["running"]), int(row["by_address"])


async def running(person: str) -> int:
    """The person's replies being written right now, on any worker, plus the requests of this
    process that passed the check and have not finished (their reply may not exist yet)."""
    # A reply counts for the person who asked for it (its author; before rooms, the owner).
    return await Message.filter(
        Q(author=person) | Q(author=None, conversation__owner=person), role=Role.ASSISTANT,
        status=Status.STREAMING).count() + _starting().get(person, 0)


class Starting:
    """Requests past the check, per person, until they end (release(), at request teardown):
    two sends at once must not both see the last free slot. A request whose reply already
    exists is counted twice for those few milliseconds, which errs on the safe side."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        # One check at a time per person (the limits that race are a person's own): a lock
        # for the whole process would queue every send behind everyone's queries.
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def turn(self, person: str):
        """Hold `person`'s check lock; it is dropped when nobody holds or awaits it."""
        lock = self._locks.setdefault(person, asyncio.Lock())
        self._users[person] = self._users.get(person, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[person] -= 1
            if not self._users[person]:
                del self._users[person], self._locks[person]


def _starting() -> dict[str, int]:
    return current_app.extensions["quota_starting"].counts


def release() -> None:
    """At the end of a request that passed `check`: its reply, if any, is in the database."""
    counts = _starting()
    for key in g.pop("quota_started", None) or ():
        counts[key] -= 1
        if not counts[key]:
            del counts[key]


def hand_over() -> Callable[[], None]:
    """For a response that outlives its request (a stream the request only starts): take
    this request's place among those starting away from the request's teardown, and return
    the function that gives it back when the response ends. Calling it twice is harmless."""
    keys = g.pop("quota_started", None) or ()  # the person's and the address's
    counts = _starting()
    done = False

    def give_back() -> None:
        nonlocal done
        if done:
            return
        done = True
        for key in keys:
            counts[key] -= 1
            if not counts[key]:
                del counts[key]
    return give_back


def _store() -> QuotaStore:
    return current_app.extensions["quota_store"]


def address() -> str:
    """The request's address: the socket's peer (Quart's remote_addr, the ASGI client), or
    the client a listed proxy names (web/proxies.py rewrites it). Never a header read here:
    any client can write X-Forwarded-For."""
    return request.remote_addr or "unknown"


def _keys(person: str) -> tuple[str, str]:
    return f"person:{person}", f"address:{address()}"


async def check(person: str) -> None:
    """Refuse (429, Retry-After) a request that would start a reply past a limit; else
    count it. Budget and concurrency first: a refused request is not counted."""
    starting = current_app.extensions["quota_starting"]
    person_key, address_key = person, f"address:{address()}"
    # Always the address's turn first, then the person's: the same order everywhere.
    async with starting.turn(address_key), starting.turn(person_key):
        await _check(person)
        if g.get("quota_started") is None:
            g.quota_started = (person_key, address_key)
            for key in g.quota_started:
                _starting()[key] = _starting().get(key, 0) + 1


def _spent(today: usage.Totals, tokens: int | None, cost: Decimal | None,
           whose: str) -> str | None:
    if tokens is not None and today.tokens >= tokens:
        return f"{today.tokens:,} of {whose} {tokens:,} tokens"
    if cost is not None and today.cost >= cost:
        return f"${today.cost:.4f} of {whose} ${cost:.2f}"
    return None


async def _check(person: str) -> None:
    own, streaming, by_address = await budget_and_running(person, address())
    limits = _limits(own)
    now = datetime.now(UTC)
    since = usage.day_start(now)
    spent = None
    if limits.daily_tokens is not None or limits.daily_cost is not None:
        spent = _spent(await usage.totals(person, since=since), limits.daily_tokens,
                       limits.daily_cost, "your")
    if spent is None and (limits.address_daily_tokens is not None
                          or limits.address_daily_cost is not None):
        spent = _spent(await usage.address_totals(address(), since=since),
                       limits.address_daily_tokens, limits.address_daily_cost,
                       "your address's")
    if spent:
        raise TooManyRequests(f"Today's budget is spent ({spent} for the day). "
                              + _reset_text(now), (next_reset(now) - now).total_seconds())
    if streaming + _starting().get(person, 0) >= limits.concurrent:
        raise TooManyRequests(
            f"You already have {limits.concurrent} replies being written, the most at once. "
            "Wait for one to finish (or stop one), then send again; your text is kept.", 5)
    if by_address + _starting().get(f"address:{address()}", 0) \
            >= limits.concurrent_per_address:
        raise TooManyRequests(
            f"Your address already has {limits.concurrent_per_address} replies being "
            "written, the most at once. Wait for one to finish, then send again; your text "
            "is kept.", 5)
    person_key, address_key = _keys(person)
    for key, limit in ((address_key, limits.per_address_per_minute),
                       (person_key, limits.per_minute)):
        wait = await _store().hit(key, limit, WINDOW)
        if wait > 0:
            who = "from your address" if key == address_key else ""
            raise TooManyRequests(
                f"Too many messages{' ' + who if who else ''}: at most {limit} per minute. "
                f"Try again in {format_wait(max(1, math.ceil(wait)))}; your text is kept.", wait)


@dataclass(frozen=True)
class Remaining:
    """What the composer shows before sending."""

    requests_left: int
    per_minute: int
    refills_in: int
    running: int | None
    concurrent: int
    limits: Limits
    today: usage.Totals
    resets_at: datetime

    @property
    def tokens_left(self) -> int | None:
        if self.limits.daily_tokens is None:
            return None
        return max(0, self.limits.daily_tokens - self.today.tokens)

    @property
    def cost_left(self) -> Decimal | None:
        if self.limits.daily_cost is None:
            return None
        return max(Decimal(0), self.limits.daily_cost - self.today.cost)

    @property
    def budget_spent(self) -> bool:
        return self.tokens_left == 0 or self.cost_left == 0


async def remaining(person: str, *, full: bool = True) -> Remaining:
    """What is left. `full=False` (the composer, on every page) leaves out the replies running
    and, without a budget, today's totals: what it does not show, it does not query."""
    limits = await limits_for(person)
    now = datetime.now(UTC)
    person_key, address_key = _keys(person)
    used, refill = await _store().used(person_key, WINDOW)
    by_address, address_refill = await _store().used(address_key, WINDOW)
    left = min(limits.per_minute - used, limits.per_address_per_minute - by_address)
    budgeted = limits.daily_tokens is not None or limits.daily_cost is not None
    return Remaining(requests_left=max(0, left), per_minute=limits.per_minute,
                     refills_in=math.ceil(max(refill, address_refill)),
                     running=await running(person) if full else None,
                     concurrent=limits.concurrent, limits=limits,
                     today=await usage.totals(person, since=usage.day_start(now))
                     if full or budgeted else usage.Totals(),
                     resets_at=next_reset(now))
