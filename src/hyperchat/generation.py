"""Reply generation: one asyncio task per reply, independent of any browser connection.

The task streams from the upstream into the hub, saves the text so far every few seconds
(so a crash loses little), and always saves the outcome: complete, stopped (partial text
kept), or error (partial text kept, with a message for the person).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import UTC, datetime

from hyperchat.conversations import title_from
from hyperchat.models import FINISHED, Conversation, Message, Role, Status
from hyperchat.rendering import estimate_tokens, format_wait
from hyperchat.streaming import StreamHub
from hyperchat.upstream.client import ChatMessage, Upstream, UpstreamError
from hyperchat.upstream.sse_parser import Finish, ModelInfo, TextDelta, ToolCallDelta, Usage

log = logging.getLogger(__name__)

TOOL_CALL_ONLY = ("The model asked to call a tool, which hyperchat does not support yet; "
                  "no text was returned.")


def upstream_error_text(exc: UpstreamError) -> str:
    """What the person is told about a failed reply, with when to retry if the provider said."""
    if exc.retry_after is None:
        return exc.message
    when = "now" if exc.retry_after == 0 else f"in {format_wait(exc.retry_after)}"
    return f"{exc.message.rstrip('.')}; try again {when}."


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
    """The conversation's finished messages (before message `before`), oldest first: what
    the model is sent."""
    query = Message.filter(conversation_id=conversation_id, status__in=FINISHED,
                           role__in=(Role.USER, Role.ASSISTANT, Role.SYSTEM))
    if before is not None:
        query = query.filter(id__lt=before)
    earlier = await query.order_by("id").values_list("role", "content")
    return [ChatMessage(role=str(role), content=content) for role, content in earlier if content]


def clean_generated_title(text: str) -> str:
    """A model's title answer, tidied: one line, no quotes or trailing period, 200 chars."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = line.removeprefix("Title:").strip().strip("\"'“”‘’*#").rstrip(".").strip()
    return " ".join(line.split())[:200]


class Generations:
    """Starts, stops and tracks this process's reply tasks."""

    def __init__(self, hub: StreamHub, upstream: Upstream, *, partial_save_interval: float,
                 title_model: str | None = None):
        self.hub = hub
        self.upstream = upstream
        self.partial_save_interval = partial_save_interval
        self.title_model = title_model
        self._tasks: dict[int, asyncio.Task] = {}
        self._stop_requested: set[int] = set()
        # Awaited with (reply, model asked for, the stream's usage or None, the fields about to
        # be saved) just before each reply's outcome is: the usage records (usage.py) hang
        # here, so a reply seen finished always has its record.
        self.after_reply: Callable[[Message, str, Usage | None, dict], Awaitable[None]] | None \
            = None

    async def start(self, message: Message, model: str, context: list[ChatMessage]) -> None:
        """Start generating `message` from `context` (the messages the model is sent)."""
        # Register with the hub before returning, so a reader that connects at once finds it.
        await self.hub.open(message.id, on_stop=lambda: self._stop(message.id))
        task = asyncio.create_task(self._run(message, model, context),
                                   name=f"reply-{message.id}")
        self._tasks[message.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(message.id, None))

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

    async def _run(self, message: Message, model: str, context: list[ChatMessage]) -> None:
        chunks: list[str] = []
        model_used: str | None = None
        usage: Usage | None = None
        finish_reason: str | None = None
        tool_calls = False
        status, error = Status.COMPLETE, None
        last_save = time.monotonic()
        try:
            # aclosing: a stop must close the upstream connection, not leave it to the GC.
            async with aclosing(self.upstream.stream(context, model)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        chunks.append(event.text)
                        await self.hub.append(message.id, event.text)
                        if time.monotonic() - last_save >= self.partial_save_interval:
                            last_save = time.monotonic()
                            await Message.filter(id=message.id).update(content="".join(chunks))
                    elif isinstance(event, ModelInfo):
                        model_used = event.model
                    elif isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, Finish):
                        finish_reason = event.reason
                    elif isinstance(event, ToolCallDelta):
                        tool_calls = True
            if not "".join(chunks).strip():
                status, error = Status.ERROR, empty_reply_text(finish_reason, tool_calls)
        except UpstreamError as exc:
            status, error = Status.ERROR, upstream_error_text(exc)
        except asyncio.CancelledError:
            if message.id in self._stop_requested:
                status = Status.STOPPED
            else:
                status, error = Status.ERROR, "The server shut down before the reply finished."
        except Exception:
            log.exception("reply %s failed", message.id)
            status, error = Status.ERROR, "Something went wrong on our side while replying."
        finally:
            self._stop_requested.discard(message.id)
            await self._save(message, chunks, context, model, model_used, usage, status, error)
            await self.hub.close(message.id)
        if status == Status.COMPLETE and self.title_model:
            await self._maybe_retitle(message)

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

    async def _save(self, message, chunks, context, model, model_used, usage, status, error):
        text = "".join(chunks)
        fields = {
            "content": text, "status": status, "error": error,
            "model_id_used": model_used or (model if text else None),
            "finished_at": datetime.now(UTC),
        }
        if usage is not None and usage.prompt_tokens is not None:
            fields.update(prompt_tokens=usage.prompt_tokens,
                          completion_tokens=usage.completion_tokens, tokens_estimated=False)
        elif text:
            fields.update(prompt_tokens=sum(estimate_tokens(m.content) for m in context),
                          completion_tokens=estimate_tokens(text), tokens_estimated=True)
        await self._after_reply(message, model, usage, fields)
        try:
            # Shielded: a second cancellation (shutdown during stop) must not lose the reply.
            await asyncio.shield(Message.filter(id=message.id).update(**fields))
        except Exception:
            log.exception("could not save reply %s", message.id)
