"""Shares are snapshots: pressing Share copies the messages the owner sees at that moment
(the branch shown, finished, not deleted) into `shared_message`. The public page reads only
that copy, so editing, switching versions or deleting afterwards changes nothing there until
the owner shares again, which replaces the whole copy. A share may expire; each opening of
its page is counted."""

from datetime import UTC, datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from hyperchat.chat import versions
from hyperchat.store.schema import FINISHED, Conversation, Message, SharedMessage, new_share_id
from hyperchat.web.errors import BadRequest

# What the owner may choose for a share's lifetime, in days (None: until they stop sharing).
EXPIRY_CHOICES = (None, 1, 7, 30)

COPIED = ("role", "content", "reasoning", "status", "model_id_used", "prompt_tokens",
          "completion_tokens", "tokens_estimated", "server_ms", "ttft_ms", "stream_ms",
          "created_at", "finished_at")


def expiry_days(raw) -> int | None:
    """The lifetime asked for: empty or absent for none, else one of EXPIRY_CHOICES."""
    if raw is None or raw == "":
        return None
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = -1
    if isinstance(raw, bool) or days not in EXPIRY_CHOICES:
        allowed = ", ".join(str(d) for d in EXPIRY_CHOICES if d is not None)
        raise BadRequest(f"expires_in_days must be empty (no expiry) or one of {allowed}.")
    return days


async def publish(conversation: Conversation, days: int | None,
                  now: datetime | None = None) -> int:
    """Take the snapshot (replacing any earlier one) and return how many messages it holds.
    A reply still being written is left out: the page shows only what was finished."""
    now = now or datetime.now(UTC)
    async with in_transaction():
        await versions.lock(conversation.id)
        shown = await versions.shown(conversation.id).filter(status__in=FINISHED) \
            .order_by("id")
        await SharedMessage.filter(conversation_id=conversation.id).delete()
        await SharedMessage.bulk_create([
            SharedMessage(conversation_id=conversation.id, position=position,
                          message_id=message.id,
                          **{name: getattr(message, name) for name in COPIED})
            for position, message in enumerate(shown)], batch_size=500)
        conversation.shared_at = now
        conversation.share_expires_at = now + timedelta(days=days) if days else None
        conversation.share_views = 0
        await conversation.save(update_fields=["shared_at", "share_expires_at", "share_views"])
    return len(shown)


async def withdraw(conversation: Conversation) -> None:
    """Stop sharing: the copy goes, and sharing again issues a new link."""
    async with in_transaction():
        await SharedMessage.filter(conversation_id=conversation.id).delete()
        conversation.shared_at = None
        conversation.share_expires_at = None
        conversation.share_views = 0
        conversation.share_id = new_share_id()
        await conversation.save(update_fields=["shared_at", "share_expires_at", "share_views",
                                               "share_id"])


def is_live(conversation: Conversation, now: datetime | None = None) -> bool:
    """Shared, and not past its expiry."""
    if conversation.shared_at is None:
        return False
    expires = conversation.share_expires_at
    return expires is None or expires > (now or datetime.now(UTC))


async def count_view(conversation: Conversation) -> None:
    """One more opening of the page, counted in the database (atomic across workers)."""
    await Conversation.filter(id=conversation.id).update(share_views=F("share_views") + 1)
    conversation.share_views += 1


def _as_messages(conversation: Conversation, rows: list[SharedMessage]) -> list[Message]:
    # Unsaved messages the bubble template renders like any other; their ids are the
    # original messages' ids, which the page's element ids and its windows use.
    return [Message(id=row.message_id, conversation_id=conversation.id,
                    **{name: getattr(row, name) for name in COPIED}) for row in rows]


async def snapshot(conversation: Conversation) -> list[Message]:
    """The whole copy, in order."""
    rows = await SharedMessage.filter(conversation_id=conversation.id).order_by("position")
    return _as_messages(conversation, rows)


async def window(conversation: Conversation, before: int | None,
                 size: int) -> tuple[list[Message], bool]:
    """The `size` copied messages before message `before` (None: the latest), oldest first,
    and whether there are more before them: a long conversation is never rendered whole for
    one request, like the conversation page."""
    query = SharedMessage.filter(conversation_id=conversation.id)
    upto = query.filter(message_id__lt=before) if before is not None else query
    rows = list(reversed(await upto.order_by("-position").limit(size)))
    more = bool(rows) and await query.filter(position__lt=rows[0].position).exists()
    return _as_messages(conversation, rows), more


async def size(conversation: Conversation) -> int:
    return await SharedMessage.filter(conversation_id=conversation.id).count()
