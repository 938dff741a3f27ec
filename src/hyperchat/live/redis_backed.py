"""The live seams in Redis, for several workers (REDIS_URL): reply streams, stop requests and
action events that every worker sees.

A live reply is one Redis stream, `hyperchat:reply:<id>`, whose entry ids carry the chunk
numbers, so a position (the SSE id) maps to an id without a lookup:
  `0-1`     opened (the key exists from open() on, so a reader elsewhere finds the reply)
  `<n>-0`   chunk n: field `t` (its text), and `k=r` when it is reasoning
  `<n>-2`   closed after n chunks
Replay after position p is XRANGE from `<p>-1` (the close marker after p and chunk p+1 both
sort after it); following is XREAD BLOCK after the last id seen. The worker that opened a reply is
the only writer, so it numbers the chunks itself: one XADD per chunk. The XADDs of all the
worker's replies that wait at the same moment go out in one pipeline (one round trip for
many chunks); each append still returns only once Redis has its chunk. The worker also keeps
its own replies in memory (a MemoryStreamHub), and its own readers follow them there: a Redis
round trip per chunk and per reader is paid only by readers on other workers. The key
expires `live_ttl` (REPLY_LIVE_TTL) after open unless refreshed (each worker refreshes its own
live replies every `live_ttl` / 4, in one round trip, never per chunk: the worker's heartbeat)
and CLOSED_TTL after close: a dead worker's replies stop looking live within `live_ttl`, and
the reaper of any worker (lifecycle.py) ends them; nothing leaks.

Stop requests go over one pub/sub channel: each worker's subscriber task calls the `on_stop`
of the replies it opened.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.exceptions import RedisError

from hyperchat.live.reply_buffer import Batch, Kind, MemoryStreamHub
from hyperchat.live.tab_events import RESYNC, Event

log = logging.getLogger(__name__)

LIVE_TTL = 30  # seconds a live reply's key lives without a refresh (default)
CLOSED_TTL = 60  # seconds a closed reply's key stays (readers finish from the database)
STOP_CHANNEL = "hyperchat:stop"


class RedisUnavailable(RuntimeError):
    """Redis could not be reached at start (REDIS_URL)."""


def connect(url: str) -> redis.Redis:
    return redis.from_url(url, decode_responses=True)


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


async def check(client: redis.Redis, url: str) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        raise RedisUnavailable(f"cannot reach Redis at REDIS_URL={shown(url)}: {error}") \
            from error


def _closed(entry_id: str) -> bool:
    return entry_id.endswith("-2")


def _batch(entries, after: int) -> tuple[Batch | None, bool]:
    """Join chunk entries into one batch (None when there are none); True when the close
    marker was among them."""
    text, reasoning, seq, closed = [], [], after, False
    for entry_id, fields in entries:
        number, _, marker = entry_id.partition("-")
        if marker != "0":
            closed = closed or marker == "2"
            continue
        seq = int(number)
        (reasoning if fields.get("k") == "r" else text).append(fields.get("t", ""))
    if seq == after:
        return None, closed
    return Batch(seq, "".join(text), "".join(reasoning)), closed


@dataclass
class _Own:
    """A reply this worker opened (and is the only one to write)."""

    on_stop: Callable[[], None]
    chunks: int = 0
    streamed: bool = True  # False once Redis failed for it: the database still gets it all


# Queued for the next pipeline: the reply, what to add to the pipeline, who waits for it.
_Write = tuple[int, Callable[[redis.client.Pipeline], object], asyncio.Future]


class RedisStreamHub:
    """Live replies shared by every worker through Redis. See the module's docstring."""

    def __init__(self, url: str, prefix: str = "hyperchat:reply:",
                 live_ttl: float = LIVE_TTL) -> None:
        self.url = url
        self.live_ttl = max(1, round(live_ttl))
        self.redis = connect(url)
        self.prefix = prefix
        self._own: dict[int, _Own] = {}
        self._local = MemoryStreamHub()  # the same replies, for this worker's own readers
        self._queue: list[_Write] = []
        self._writer: asyncio.Task | None = None
        self._subscriber: asyncio.Task | None = None
        self._refresher: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    def _key(self, message_id: int) -> str:
        return f"{self.prefix}{message_id}"

    async def start(self) -> None:
        """Check Redis, then listen for stop requests (call once the loop runs)."""
        await check(self.redis, self.url)
        self._subscriber = asyncio.create_task(self._listen(), name="stop-requests")
        self._refresher = asyncio.create_task(self._refresh(), name="live-replies-ttl")
        async with asyncio.timeout(5):
            await self._subscribed.wait()

    async def aclose(self) -> None:
        tasks = [task for task in (self._subscriber, self._refresher) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writer is not None:  # what is queued still goes out
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.redis.aclose()

    async def _write(self, message_id: int,
                     command: Callable[[redis.client.Pipeline], object]) -> bool:
        """Queue `command` (it adds one or more commands to a pipeline) for the next
        pipeline; True once Redis has done it, False when Redis failed (logged)."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((message_id, command, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="live-replies-writes")
        return await done

    async def _drain(self) -> None:
        """Send what is queued, one pipeline at a time, until nothing is: the writes that
        queue while one pipeline is on its way go out together in the next."""
        while self._queue:
            writes, self._queue = self._queue, []
            outcomes = [False] * len(writes)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    spans = []
                    for _, command, _ in writes:
                        start = len(pipe.command_stack)
                        command(pipe)
                        spans.append((start, len(pipe.command_stack)))
                    results = await pipe.execute(raise_on_error=False)
                outcomes = [not any(isinstance(r, Exception) for r in results[start:end])
                            for start, end in spans]
            except RedisError:
                pass  # the connection: every write of this pipeline failed
            for (message_id, _, done), ok in zip(writes, outcomes, strict=True):
                own = self._own.get(message_id)
                if not ok and own is not None and own.streamed:
                    own.streamed = False
                    log.error("reply %s: Redis lost mid-stream, it is saved but not streamed",
                              message_id)
                if not done.done():
                    done.set_result(ok)

    async def _refresh(self, every: float | None = None) -> None:
        """Keep this worker's live replies from expiring while it is alive."""
        while True:
            await asyncio.sleep(every or self.live_ttl / 4)
            live = [message_id for message_id, own in self._own.items() if own.streamed]
            if not live:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for message_id in live:
                        pipe.expire(self._key(message_id), self.live_ttl, xx=True)
                    await pipe.execute()
            except RedisError:
                log.exception("live replies: TTL refresh failed")

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(STOP_CHANNEL)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        own = self._own.get(int(message["data"]))
                        if own is not None:
                            own.on_stop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stop requests: subscription lost, resubscribing")
                await asyncio.sleep(1)

    async def open(self, message_id: int, on_stop: Callable[[], None]) -> None:
        key = self._key(message_id)
        self._own[message_id] = own = _Own(on_stop)
        await self._local.open(message_id, on_stop)
        try:
            # A continued reply reopens its id: the old (closed) stream goes first.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key).xadd(key, {"o": "1"}, id="0-1").expire(key, self.live_ttl)
                await pipe.execute()
        except RedisError:
            log.exception("reply %s: Redis unavailable, it is saved but not streamed", message_id)
            own.streamed = False

    async def append(self, message_id: int, text: str, kind: Kind = Kind.TEXT) -> int:
        """The chunk's number, once Redis has it; 0 when Redis failed for this reply."""
        own = self._own[message_id]
        own.chunks = await self._local.append(message_id, text, kind)
        if not own.streamed:
            return 0
        key, fields, entry = self._key(message_id), {"t": text}, f"{own.chunks}-0"
        if kind is Kind.REASONING:
            fields["k"] = "r"
        if not await self._write(message_id, lambda pipe: pipe.xadd(key, fields, id=entry)):
            return 0
        return own.chunks

    async def close(self, message_id: int) -> None:
        own = self._own.pop(message_id, None)
        await self._local.close(message_id)
        if own is None or not own.streamed:
            return
        key, entry = self._key(message_id), f"{own.chunks}-2"
        await self._write(message_id, lambda pipe: pipe.xadd(key, {"c": "1"}, id=entry)
                          .expire(key, CLOSED_TTL))

    async def snapshot(self, message_id: int) -> Batch | None:
        if message_id in self._own:
            return await self._local.snapshot(message_id)
        try:
            entries = await self.redis.xrange(self._key(message_id))
        except RedisError:
            log.exception("reply %s: no snapshot, Redis unavailable", message_id)
            return None
        if not entries or _closed(entries[-1][0]):
            return None
        batch, _ = _batch(entries, 0)
        return batch or Batch(0, "")

    async def follow(self, message_id: int, after: int,
                     keepalive: float) -> AsyncIterator[Batch | None]:
        """Yield what is new after `after`, then each new batch until the reply closes;
        None after `keepalive` seconds of silence. Ends at once for a reply not live (and
        when Redis fails: the caller reads the outcome from the database)."""
        if message_id in self._own:  # written here: followed in memory
            async for batch in self._local.follow(message_id, after, keepalive):
                yield batch
            return
        key = self._key(message_id)
        position = max(0, after)
        try:
            # One round trip: the last entry (none: not live; a close marker: finished, the
            # database has it all) and the replay.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xrevrange(key, count=1).xrange(key, min=f"{position}-1")
                last, entries = await pipe.execute()
            if not last or _closed(last[0][0]):
                return
            last_id = f"{position}-0"
            while True:
                if entries:
                    last_id = entries[-1][0]
                    batch, closed = _batch(entries, position)
                    if batch is not None:
                        position = batch.seq
                        yield batch
                    if closed:
                        return
                response = await self.redis.xread({key: last_id}, block=int(keepalive * 1000))
                entries = response[0][1] if response else []
                if not response:
                    if not await self.redis.exists(key):  # expired: its worker is gone
                        return
                    yield None
        except RedisError:
            log.exception("reply %s: Redis lost while following it", message_id)

    async def request_stop(self, message_id: int) -> bool:
        own = self._own.get(message_id)
        if own is not None:
            own.on_stop()
            return True
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xrevrange(self._key(message_id), count=1).publish(STOP_CHANNEL, message_id)
                last, _ = await pipe.execute()
        except RedisError:
            log.exception("reply %s: stop request not sent, Redis unavailable", message_id)
            return False
        return bool(last) and not _closed(last[0][0])

    async def live(self, message_ids: list[int]) -> set[int]:
        """Which of these replies are live on some worker (their stream is open). Without
        Redis it cannot tell, and says all: callers then leave them alone."""
        here = {message_id for message_id in message_ids if message_id in self._own}
        elsewhere = [message_id for message_id in message_ids if message_id not in here]
        if not elsewhere:
            return here
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for message_id in elsewhere:
                    pipe.xrevrange(self._key(message_id), count=1)
                lasts = await pipe.execute()
        except RedisError:
            log.exception("live replies: Redis unavailable")
            return set(message_ids)
        return here | {message_id for message_id, last in zip(elsewhere, lasts, strict=True)
                       if last and not _closed(last[0][0])}

    def __len__(self) -> int:
        return len(self._own)


# Numbers the event after the channel's last one and appends it, capped at the backlog: in
# one script, so two workers publishing at once never take the same number.
_PUBLISH = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 1
if #last > 0 then seq = tonumber(string.match(last[1][1], '^(%d+)')) + 1 end
local entry = {'t', ARGV[3], 'h', ARGV[4]}
if ARGV[5] ~= '' then table.insert(entry, 'o'); table.insert(entry, ARGV[5]) end
if ARGV[6] ~= '' then table.insert(entry, 'j'); table.insert(entry, ARGV[6]) end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], seq .. '-0', unpack(entry))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return seq
"""


def _seq(entries) -> int | None:
    return int(entries[0][0].partition("-")[0]) if entries else None


class RedisEventBus:
    """Each conversation's action events in a capped Redis stream, `hyperchat:events:<id>`,
    numbered 1, 2, ... by entry id (`<seq>-0`), so positions work as in MemoryEventBus: the
    epoch is the Redis server's run id (a restarted Redis lost the streams, so its tabs
    resync), and a tab behind the kept backlog resyncs. An idle channel expires after
    `idle_ttl`; a tab coming back to it resyncs, as after MemoryEventBus.cleanup."""

    def __init__(self, url: str, backlog: int = 200, idle_ttl: int = 86400,
                 prefix: str = "hyperchat:events:") -> None:
        self.url = url
        self.redis = connect(url)
        self.backlog = backlog
        self.idle_ttl = idle_ttl
        self.prefix = prefix
        self.epoch = ""
        self._publish = self.redis.register_script(_PUBLISH)

    async def start(self) -> None:
        await check(self.redis, self.url)
        self.epoch = (await self.redis.info("server"))["run_id"][:8]

    async def aclose(self) -> None:
        await self.redis.aclose()

    def _key(self, conversation_id: int) -> str:
        return f"{self.prefix}{conversation_id}"

    async def position(self, conversation_id: int) -> str:
        try:
            last = await self.redis.xrevrange(self._key(conversation_id), count=1)
        except RedisError:
            log.exception("events of conversation %s: Redis unavailable", conversation_id)
            last = []
        return f"{self.epoch}-{_seq(last) or 0}"

    async def publish(self, conversation_id: int, type: str, html: str,
                      origin: str | None, data: dict | None = None) -> Event:
        try:
            seq = await self._publish(keys=[self._key(conversation_id)],
                                      args=[self.backlog, self.idle_ttl, type, html,
                                            origin or "",
                                            json.dumps(data) if data is not None else ""])
        except RedisError:
            # The action itself is saved; its other tabs see it on their next load.
            log.exception("event %s of conversation %s not published", type, conversation_id)
            seq = 0
        return Event(f"{self.epoch}-{seq}", type, html, origin, data)

    async def follow(self, conversation_id: int, after: str | None,
                     keepalive: float) -> AsyncIterator[Event | None]:
        """Yield each event after `after`, then each new one; None after `keepalive`
        seconds of silence. Ends when Redis fails (the tab reconnects and resyncs)."""
        key = self._key(conversation_id)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xrevrange(key, count=1).xrange(key, count=1)
                last, first = await pipe.execute()
            current = _seq(last) or 0
            position = self._start(after, current, _seq(first) or current + 1)
            if position is None:
                position = current
                yield Event(f"{self.epoch}-{position}", RESYNC, "", None)
            while True:
                response = await self.redis.xread({key: f"{position}-0"},
                                                  block=int(keepalive * 1000))
                if not response:
                    yield None
                    continue
                for entry_id, fields in response[0][1]:
                    position = int(entry_id.partition("-")[0])
                    data = fields.get("j")
                    yield Event(f"{self.epoch}-{position}", fields["t"], fields["h"],
                                fields.get("o"), json.loads(data) if data else None)
        except RedisError:
            log.exception("events of conversation %s: Redis lost while following",
                          conversation_id)

    def _start(self, after: str | None, current: int, oldest: int) -> int | None:
        """The seq to follow from, or None when the tab missed events we no longer have."""
        if not after:
            return current
        epoch, _, seq = after.partition("-")
        if epoch != self.epoch or not seq.isdigit() or int(seq) > current:
            return None
        if int(seq) < oldest - 1:
            return None
        return int(seq)

    def cleanup(self) -> int:
        """Nothing to do: idle channels expire in Redis."""
        return 0
