"""Regeneration tasks (`GET /api/tasks/<id>`), read back from their reply rows.

A task is the generation of one reply, and its id is the reply's id. No table of its own:
the reply row is created when the task starts, in the same request, and the task itself
saves its outcome, error and finish time there (chat/generation.py), so a second table
would only copy those columns, and could disagree with them after a crash, which the
reaper (lifecycle.py) settles on the reply row. What a row cannot say, how far a live reply
has got, comes from its reply buffer (memory, or Redis on any worker).
"""

from dataclasses import dataclass
from datetime import datetime

from hyperchat.live.reply_buffer import StreamHub
from hyperchat.store.schema import Message, Status

PENDING = "pending"  # started, nothing written yet (the provider has not answered)
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"  # an error, or stopped before the end (its text so far is kept)

# No length is known ahead (no token limit is asked of the model): progress is the text so
# far against the version the reply replaces, or this many characters when it has none. It
# never reaches 100 before the reply ends.
TYPICAL_REPLY_CHARS = 2000
STOPPED = "The reply was stopped before it finished; its text so far is kept."


@dataclass(frozen=True)
class Task:
    task_id: int
    message_id: int
    conversation_id: int
    regenerates: int | None  # the version this reply replaces (None: a first answer)
    status: str
    progress: float  # percent, an estimate while in progress
    error: str | None
    created_at: datetime
    started_at: datetime
    completed_at: datetime | None


async def expected_chars(reply: Message) -> int:
    """The length a live reply is measured against for its progress."""
    if reply.version_of_id is not None:
        found = await Message.filter(id=reply.version_of_id).values_list("content", flat=True)
        if found and found[0]:
            return len(found[0])
    return TYPICAL_REPLY_CHARS


def progress(chars: int, expected: int) -> float:
    """Percent done, estimated: never 100 before the end."""
    return min(99.0, round(100 * chars / max(1, expected), 1))


async def read(reply: Message, hub: StreamHub) -> Task:
    """The task that writes (or wrote) `reply`, an assistant message."""
    error = reply.error
    if reply.status == Status.STREAMING:
        snapshot = await hub.snapshot(reply.id)
        chars = len(snapshot.text) if snapshot is not None else len(reply.content)
        status = IN_PROGRESS if chars or (snapshot and snapshot.reasoning) else PENDING
        done = progress(chars, await expected_chars(reply)) if chars else 0.0
    elif reply.status == Status.COMPLETE:
        status, done = COMPLETED, 100.0
    else:
        status = FAILED
        done = progress(len(reply.content), await expected_chars(reply))
        if reply.status == Status.STOPPED:
            error = STOPPED
    return Task(task_id=reply.id, message_id=reply.id, conversation_id=reply.conversation_id,
                regenerates=reply.version_of_id, status=status, progress=done, error=error,
                created_at=reply.created_at, started_at=reply.created_at,
                completed_at=reply.finished_at)
