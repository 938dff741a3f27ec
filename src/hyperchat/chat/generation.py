"""Reply generation: one asyncio task per reply, independent of any browser connection.

The task streams from the upstream into the hub, saves the text so far every few seconds
(so a crash loses little), and always saves the outcome: complete, stopped (partial text
kept), or error (partial text kept, with a message for the person). With the thought process
on, a reasoning model's reasoning goes the same way beside the text (Message.reasoning).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hyperchat.chat import versions
from hyperchat.chat.conversations import title_from
from hyperchat.live.reply_buffer import Kind, StreamHub
from hyperchat.store.schema import Conversation, Message, Role, Status, storable
from hyperchat.upstream.client import ChatMessage, Upstream, UpstreamError
from hyperchat.upstream.wire import (
    Finish,
    ModelInfo,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from hyperchat.web.rendering import estimate_tokens, format_wait

log = logging.getLogger(__name__)

# The outcome of a reply whose save failed (the text so far is kept when it can be).
SAVE_FAILED = "The reply could not be saved in full; the text so far is kept."
TOOL_CALL_ONLY = ("The model asked to call a tool, which hyperchat does not support yet; "
                  "no text was returned.")


def fitted(value: str | None, column: str) -> str | None:
    """A short string from the upstream (a model id, a finish reason), cut to its column:
    PostgreSQL refuses a longer one, and the whole reply would not be saved."""
    if value is None:
        return None
    return value[:Message._meta.fields_map[column].max_length]


def upstream_error_text(exc: UpstreamError) -> str:
    """What the person is told about a failed reply, with when to retry if the provider said."""
    if exc.retry_after is None:
        return exc.message
    when = "now" if exc.retry_after == 0 else f"in {format_wait(exc.retry_after)}"
    return f"{exc.message.rstrip('.')}; try again {when}."


def too_long_text(what: str, limit: int) -> str:
    return (f"The {what} reached the {limit:,}-character limit and was ended there; the text "
            "so far is kept.")


class TooLong(Exception):
    """The upstream sent more text (or reasoning) than a reply may hold."""


def empty_reply_text(finish_reason: str | None, tool_calls: bool) -> str:
    """Why a reply that finished without any text has none: never a blank "complete" bubble."""
    if tool_calls or finish_reason == "tool_calls":
        return TOOL_CALL_ONLY
    if finish_reason == "content_filter":
        return "The provider's content filter withheld the reply; no text was returned."
    if finish_reason == "length":
        return "The model reached its length limit before writing any text."
    return "The model finished without returning any text."


async def conversation_context(conversation_id: int,
                               before: int | None = None) -> list[ChatMessage]:
    """What the model is sent: the active branch's finished, undeleted messages, oldest
    first; with `before`, the ancestors of that message (chat/versions.py)."""
    if before is None:
        upto = await versions.leaf_id(conversation_id)
    else:
        parents = await Message.filter(id=before).values_list("parent_id", flat=True)
        upto = parents[0] if parents else None
    return await versions.context(conversation_id, upto)


def clean_generated_title(text: str) -> str:
    """A model's title answer, tidied: one line, no quotes or trailing period, 200 chars."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = line.removeprefix("Title:").strip().strip("\"'“”‘’*#").rstrip(".").strip()
    return " ".join(line.split())[:200]


@dataclass
class Reply:
    """One reply's generation state: what it was asked with, what has streamed so far, how
    it ended, and its clock (time.perf_counter). The task updates it as events come, and
    `Generations._save` writes it."""

    message: Message
    model: str  # the model asked for
    context: list[ChatMessage]  # what the model is sent
    temperature: float | None = None
    prefix: str = ""
    # The reasoning a continued reply already has (kept, and the new reasoning follows it).
    reasoning_prefix: str = ""
    # What the reply shows so far: its text, and (thought process on) its reasoning.
    chunks: list[str] = field(init=False)
    thoughts: list[str] = field(init=False)
    # Their lengths by kind, against MAX_REPLY_CHARS and MAX_REASONING_CHARS.
    held: dict = field(default_factory=dict)
    # Reasoning the model sent, shown or not: billed like text, so counted when estimating.
    reasoning: list[str] = field(default_factory=list)
    model_used: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: bool = False
    status: Status = Status.COMPLETE
    error: str | None = None
    on_progress: Callable[[Message, str, float], Awaitable[None]] | None = None
    on_finish: Callable[[Message], Awaitable[None]] | None = None
    # Set once the reply waits on the network (or its task ended): see Generations.start.
    sent: asyncio.Event = field(default_factory=asyncio.Event)
    received_at: float = 0.0
    called_at: float | None = None
    first_token_at: float | None = None
    ended_at: float | None = None
    _last_progress: float = 0.0
    _last_save: float = field(default_factory=time.monotonic)  # time.monotonic

    def __post_init__(self) -> None:
        self.chunks = [self.prefix] if self.prefix else []
        self.thoughts = [self.reasoning_prefix] if self.reasoning_prefix else []

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def progress_due(self) -> bool:
        """Whether a progress event is due (checked per token, so not a coroutine)."""
        return self.on_progress is not None \
            and time.perf_counter() - self._last_progress >= PROGRESS_INTERVAL

    async def progress(self) -> None:
        now = time.perf_counter()
        self._last_progress = now
        try:
            await self.on_progress(self.message, self.text, now - (self.called_at or now))
        except Exception:
            log.exception("progress of reply %s not published", self.message.id)

    def save_due(self, interval: float) -> bool:
        return time.monotonic() - self._last_save >= interval

    def shown_reasoning(self) -> dict:
        """The reasoning to save with the text, or nothing: a reply without any (or with the
        thought process off) leaves the column as it was, null for a new reply."""
        return {"reasoning": "".join(self.thoughts)} if self.thoughts else {}

    async def save_partial(self) -> None:
        """Write the text and reasoning so far."""
        await Message.filter(id=self.message.id).update(content=self.text,
                                                        **self.shown_reasoning())
        self._last_save = time.monotonic()

    def latency(self) -> dict:
        """Milliseconds: in our server before the upstream call, to the first token, and
        from it to the end. Null where the stream never got that far."""
        def ms(start, end):
            return round((end - start) * 1000) if start is not None and end is not None \
                else None
        return {"server_ms": ms(self.received_at, self.called_at),
                "ttft_ms": ms(self.called_at, self.first_token_at),
                "stream_ms": ms(self.first_token_at, self.ended_at)}

    def outcome(self) -> dict:
        """The fields the reply is saved with once it ends, its token counts included."""
        text = self.text
        fields = {
            "content": text, **self.shown_reasoning(), "status": self.status,
            "error": self.error, "model_id_used": self.model_used or (self.model if text else None),
            "finished_at": datetime.now(UTC),
            "finish_reason": self.finish_reason, "temperature": self.temperature,
            **self.latency(),
        }
        new_text = text[len(self.prefix):]
        message = self.message
        # A continuation's usage covers only the new part: add it to what the reply had.
        before = (message.completion_tokens or 0) if self.prefix else 0
        usage = self.usage
        if usage is not None and usage.prompt_tokens is not None:
            fields.update(prompt_tokens=usage.prompt_tokens,
                          completion_tokens=before + (usage.completion_tokens or 0),
                          tokens_estimated=bool(self.prefix and message.tokens_estimated))
        elif new_text or self.reasoning:
            # The reasoning counts too: providers bill it, and a reply stopped while the
            # model thinks must not cost nothing against a budget.
            fields.update(prompt_tokens=sum(estimate_tokens(m.content) for m in self.context),
                          completion_tokens=before + estimate_tokens(new_text)
                          + estimate_tokens("".join(self.reasoning)),
                          tokens_estimated=True)
        return fields


PROGRESS_INTERVAL = 0.5  # seconds between two progress events of one reply
# The longest start() waits for the upstream request to go out (a safety net: it normally
# takes well under a millisecond, see Generations.start).
SEND_WAIT = 0.25


class Generations:
    """Starts, stops and tracks this process's reply tasks."""

    def __init__(self, hub: StreamHub, upstream: Upstream, *, partial_save_interval: float,
                 title_model: str | None = None, thought_process: bool = True,
                 max_reply_chars: int = 100_000, max_reasoning_chars: int = 200_000):
        self.hub = hub
        # MAX_REPLY_CHARS, MAX_REASONING_CHARS: a reply is ended at these (text kept).
        self.limits = {Kind.TEXT: max_reply_chars, Kind.REASONING: max_reasoning_chars}
        self.upstream = upstream
        self.partial_save_interval = partial_save_interval
        self.title_model = title_model
        # CHAT_ACTIONS_ENABLE_THOUGHT_PROCESS: off, reasoning deltas are dropped as they come.
        self.thought_process = thought_process
        self._tasks: dict[int, asyncio.Task] = {}
        self._stop_requested: set[int] = set()
        # Awaited with (reply, model asked for, the stream's usage or None, the fields about to
        # be saved) just before each reply's outcome is: the usage records (metering/usage.py) hang
        # here, so a reply seen finished always has its record.
        self.after_reply: Callable[[Message, str, Usage | None, dict], Awaitable[None]] | None \
            = None

    async def start(self, message: Message, model: str, context: list[ChatMessage], *,
                    temperature: float | None = None, prefix: str = "",
                    received_at: float | None = None,
                    on_progress: Callable[[Message, str, float], Awaitable[None]] | None = None,
                    on_finish: Callable[[Message], Awaitable[None]] | None = None) -> None:
        """Start generating `message` from `context` (the messages the model is sent).
        `prefix`: text the reply already has (a continuation appends to it; its reasoning is
        kept too). `received_at`: when (time.perf_counter) the request that asked for it
        arrived, for the latency breakdown. `on_progress(message, text, elapsed)` is awaited
        about twice a second, `on_finish(message)` once the outcome is saved."""
        # Register with the hub before returning, so a reader that connects at once finds it.
        await self.hub.open(message.id, on_stop=lambda: self._stop(message.id))
        reasoning_prefix = (message.reasoning or "") if prefix and self.thought_process else ""
        if reasoning_prefix:
            await self.hub.append(message.id, reasoning_prefix, Kind.REASONING)
        if prefix:
            await self.hub.append(message.id, prefix)
        reply = Reply(message, model, context, temperature=temperature, prefix=prefix,
                      reasoning_prefix=reasoning_prefix,
                      received_at=received_at if received_at is not None
                      else time.perf_counter(),
                      on_progress=on_progress, on_finish=on_finish)
        task = asyncio.create_task(self._run(reply), name=f"reply-{message.id}")
        self._tasks[message.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(message.id, None))
        task.add_done_callback(lambda _: reply.sent.set())
        # Return once the reply waits on the network (its request written, or a connection
        # being opened): the caller's own work (rendering its response) would otherwise run
        # first and delay the send. A few hundred microseconds of this process's work.
        with suppress(TimeoutError):
            async with asyncio.timeout(SEND_WAIT):
                await reply.sent.wait()

    def _stop(self, message_id: int) -> None:
        task = self._tasks.get(message_id)
        if task is not None and not task.done():
            self._stop_requested.add(message_id)
            task.cancel()

    async def stop(self, message_id: int) -> bool:
        return await self.hub.request_stop(message_id)

    async def shutdown(self) -> None:
        """Cancel every running reply; each saves its partial text before it ends."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait(self, message_id: int) -> None:
        task = self._tasks.get(message_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, reply: Reply) -> None:
        message = reply.message
        try:
            # aclosing: a stop must close the upstream connection, not leave it to the GC.
            reply.called_at = time.perf_counter()
            async with aclosing(self.upstream.stream(reply.context, reply.model,
                                                     temperature=reply.temperature,
                                                     on_sent=reply.sent.set)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        # Storable as it arrives: what streams live is what is saved, and
                        # text no database (nor Redis, nor a UTF-8 response) takes never
                        # gets that far.
                        await self._streamed(reply, storable(event.text), Kind.TEXT)
                    elif isinstance(event, ReasoningDelta):
                        reply.reasoning.append(event.text)
                        if not self.thought_process:
                            continue
                        # A continuation's new thinking starts a paragraph of its own.
                        piece = storable(event.text)
                        piece = "\n\n" + piece \
                            if reply.reasoning_prefix and len(reply.reasoning) == 1 else piece
                        await self._streamed(reply, piece, Kind.REASONING)
                    elif isinstance(event, ModelInfo):
                        reply.model_used = fitted(event.model, "model_id_used")
                    elif isinstance(event, Usage):
                        reply.usage = event
                    elif isinstance(event, Finish):
                        reply.finish_reason = fitted(event.reason, "finish_reason")
                    elif isinstance(event, ToolCallDelta):
                        reply.tool_calls = True
            if not reply.prefix and not reply.text.strip():
                reply.status = Status.ERROR
                reply.error = empty_reply_text(reply.finish_reason, reply.tool_calls)
        except UpstreamError as exc:
            reply.status, reply.error = Status.ERROR, upstream_error_text(exc)
        except TooLong as exc:
            reply.status, reply.error = Status.ERROR, str(exc)
        except asyncio.CancelledError:
            if message.id in self._stop_requested:
                reply.status = Status.STOPPED
            else:
                reply.status = Status.ERROR
                reply.error = "The server shut down before the reply finished."
        except Exception:
            log.exception("reply %s failed", message.id)
            reply.status = Status.ERROR
            reply.error = "Something went wrong on our side while replying."
        finally:
            self._stop_requested.discard(message.id)
            reply.ended_at = time.perf_counter()
            await self._save(reply)
            await self.hub.close(message.id)
        if reply.on_finish is not None:
            try:
                await reply.on_finish(message)
            except Exception:
                log.exception("finish of reply %s not published", message.id)
        if reply.status == Status.COMPLETE and self.title_model:
            await self._maybe_retitle(message)

    async def _streamed(self, reply: Reply, piece: str, kind: Kind) -> None:
        """Take one piece of text or shown reasoning: into the reply and its buffer, then a
        progress event and a partial save when either is due."""
        reply.token()  # shown as it streams: the person's first token
        shown = reply.chunks if kind == Kind.TEXT else reply.thoughts
        # Cut where the text (or reasoning) would pass its limit; the reply ends there.
        held = reply.held.setdefault(kind, sum(map(len, shown)))
        kept = piece[:max(0, self.limits[kind] - held)]
        reply.held[kind] = held + len(kept)
        shown.append(kept)
        await self.hub.append(reply.message.id, kept, kind)
        if len(kept) < len(piece):
            raise TooLong(too_long_text("reply" if kind == Kind.TEXT else "thought process",
                                        self.limits[kind]))
        if reply.progress_due():
            await reply.progress()
        if reply.save_due(self.partial_save_interval):
            await reply.save_partial()

    async def _after_reply(self, message: Message, model: str, usage: Usage | None,
                           fields: dict) -> None:
        if self.after_reply is None:
            return
        try:
            await asyncio.shield(self.after_reply(message, model, usage, fields))
        except asyncio.CancelledError:
            # A second cancellation (shutdown during a stop): the shielded hook goes on, and
            # the reply must still be saved, so this one is not passed on.
            pass
        except Exception:
            log.exception("after-reply hook failed for reply %s", message.id)

    async def _maybe_retitle(self, message: Message) -> None:
        """After a conversation's first reply, ask TITLE_MODEL for a better title, in the
        background. Only the title changes: the list's order (last activity) does not."""
        replies = await Message.filter(conversation_id=message.conversation_id,
                                       role=Role.ASSISTANT, status=Status.COMPLETE).count()
        if replies != 1:
            return
        task = asyncio.create_task(self._retitle(message), name=f"title-{message.id}")
        self._tasks[-message.id] = task  # negative keys: title tasks, cancelled on shutdown
        task.add_done_callback(lambda _: self._tasks.pop(-message.id, None))

    async def _retitle(self, message: Message) -> None:
        reply = await Message.get(id=message.id)
        exchange = await conversation_context(reply.conversation_id, before=reply.id)
        exchange.append(ChatMessage("assistant", reply.content))
        transcript = "\n\n".join(f"{m.role}: {m.content[:2000]}" for m in exchange[:2])
        prompt = [
            ChatMessage("system", "You write titles for chat conversations. Answer with the "
                                  "title only: 3 to 6 words, no quotes, no final punctuation."),
            ChatMessage("user", transcript),
        ]
        parts: list[str] = []
        try:
            async with aclosing(self.upstream.stream(prompt, self.title_model)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
        except UpstreamError as exc:
            log.warning("title for conversation %s failed: %s", message.conversation_id, exc)
            return
        title = clean_generated_title("".join(parts))
        if title and exchange and exchange[0].role == Role.USER:
            # Only while the title is still the automatic one: a rename the person made
            # meanwhile (or before the reply finished) is never overwritten.
            await Conversation.filter(id=message.conversation_id,
                                      title=title_from(exchange[0].content)).update(title=title)

    async def _save(self, reply: Reply) -> None:
        """Save the reply's outcome, after the after-reply hook (its usage record)."""
        fields = reply.outcome()
        await self._after_reply(reply.message, reply.model, reply.usage, fields)
        try:
            # Shielded: a second cancellation (shutdown during stop) must not lose the reply.
            await asyncio.shield(Message.filter(id=reply.message.id).update(**fields))
        except Exception:
            log.exception("could not save reply %s", reply.message.id)
            await save_failed(reply.message.id, reply.text)


async def save_failed(message_id: int, text: str) -> None:
    """End a reply whose outcome could not be saved as `error`, so that it never stays
    "streaming" (holding one of its owner's concurrent replies, and beyond stop or retry):
    with its text if that can be stored, else with the text of its last partial save. When
    the database refuses even that, the reaper (lifecycle.py) ends it later."""
    ended = {"status": Status.ERROR, "error": SAVE_FAILED, "finished_at": datetime.now(UTC)}
    for fields in ({**ended, "content": text}, ended):
        try:
            await asyncio.shield(Message.filter(id=message_id).update(**fields))
            return
        except Exception:
            log.exception("could not end reply %s as an error", message_id)


async def end_unfinished(message_ids: list[int], status: Status,
                         error: str | None = None) -> int:
    """End replies still "streaming" that no task writes any more (its process died, or
    its save failed), keeping the text they have; return how many were ended. Only rows
    still streaming change, so a reply that finished meanwhile keeps its outcome."""
    if not message_ids:
        return 0
    return await Message.filter(id__in=message_ids, status=Status.STREAMING).update(
        status=status, error=error, finished_at=datetime.now(UTC))
