"""What can happen to a conversation, shared by the HTML views and the JSON API."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from hyperchat.chat.rooms import account_id
from hyperchat.store.schema import (
    Attachment,
    Conversation,
    ConversationMember,
    Message,
    new_share_id,
)
from hyperchat.web.errors import BadRequest

TITLE_MAX = 200
TITLE_WORDS = 5


class View(StrEnum):
    """The sidebar's filter."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    TRASH = "trash"


def owned_by(owner: str, view: View = View.ACTIVE):
    """The owner's conversations in one view, and the rooms they are a member of, most
    recent activity first."""
    user_id = account_id(owner)
    query = Conversation.filter(owner=owner) if user_id is None else Conversation.filter(
        Q(owner=owner) | Q(id__in=Subquery(ConversationMember.filter(user_id=user_id)
                                           .values("conversation_id"))))
    if view == View.TRASH:
        query = query.filter(deleted_at__not_isnull=True)
    else:
        query = query.filter(deleted_at__isnull=True, archived=(view == View.ARCHIVED))
    return query.order_by("-last_activity_at", "-id")


def kept(owner: str):
    """The owner's conversations not in the trash, active and archived alike, most recent
    activity first."""
    return Conversation.filter(owner=owner, deleted_at__isnull=True) \
        .order_by("-last_activity_at", "-id")


async def message_counts(conversation_ids: list[int]) -> dict[int, int]:
    """Messages per conversation, in one grouped query whatever the number of ids."""
    if not conversation_ids:
        return {}
    rows = await Message.filter(conversation_id__in=conversation_ids).annotate(
        count=Count("id")).group_by("conversation_id").values_list("conversation_id", "count")
    return dict(rows)


def title_from(content: str) -> str:
    """The first five words of the first message, with "..." when there were more."""
    words = content.split()
    title = " ".join(words[:TITLE_WORDS])
    if len(words) > TITLE_WORDS:
        title += "..."
    return title[:TITLE_MAX] or "New chat"


def clean_title(title: object) -> str:
    """Validate a new title: 1-200 characters once trimmed."""
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("A title needs at least one character.")
    title = " ".join(title.split())
    if len(title) > TITLE_MAX:
        raise BadRequest(f"A title can be at most {TITLE_MAX} characters long.")
    return title


async def rename(conversation: Conversation, title: object) -> Conversation:
    conversation.title = clean_title(title)
    await conversation.save(update_fields=["title", "updated_at"])
    return conversation


async def set_archived(conversation: Conversation, archived: bool) -> Conversation:
    conversation.archived = archived
    await conversation.save(update_fields=["archived", "updated_at"])
    return conversation


async def move_to_trash(conversation: Conversation) -> Conversation:
    conversation.deleted_at = datetime.now(UTC)
    await conversation.save(update_fields=["deleted_at", "updated_at"])
    return conversation


async def restore(conversation: Conversation) -> Conversation:
    conversation.deleted_at = None
    await conversation.save(update_fields=["deleted_at", "updated_at"])
    return conversation


async def delete_permanently(conversation: Conversation) -> None:
    """Delete it with its messages; its share link dies with it."""
    async with in_transaction():
        # Its files' rows too (their originals go with the next collection, lifecycle.py).
        await Attachment.filter(conversation_id=conversation.id).delete()
        await Message.filter(conversation_id=conversation.id).delete()
        await Conversation.filter(id=conversation.id).delete()


async def purge_trash(retention_days: int, now: datetime | None = None) -> int:
    """Delete conversations that have been in the trash longer than the retention."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    expired = await Conversation.filter(deleted_at__lt=cutoff).values_list("id", flat=True)
    if expired:
        async with in_transaction():
            await Attachment.filter(conversation_id__in=expired).delete()
            await Message.filter(conversation_id__in=expired).delete()
            await Conversation.filter(id__in=expired).delete()
    return len(expired)


async def stats(owner: str) -> dict:
    """Counts for the sidebar footer and the stats endpoint."""
    # One aggregate row for the three counts (grouped by owner, which every row shares).
    counts = await Conversation.filter(owner=owner).annotate(
        total=Count("id"),
        trash=Count("id", _filter=Q(deleted_at__not_isnull=True)),
        archived_count=Count("id", _filter=Q(deleted_at__isnull=True, archived=True)),
    ).group_by("owner").values("total", "trash", "archived_count")
    total, trash, archived = ((counts[0]["total"], counts[0]["trash"],
                               counts[0]["archived_count"]) if counts else (0, 0, 0))
    # Grouped by owner, a value every row shares: one aggregate row, not one per message.
    rows = await Message.filter(conversation__owner=owner).annotate(
        messages=Count("id"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"),
    ).group_by("conversation__owner").values("messages", "prompt", "completion")
    totals = rows[0] if rows else {}
    prompt = totals.get("prompt") or 0
    completion = totals.get("completion") or 0
    return {
        "total": total,
        "active": total - trash - archived,
        "archived": archived,
        "trash": trash,
        "messages": totals.get("messages") or 0,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
    }


__all__ = ["View", "owned_by", "kept", "message_counts", "title_from", "clean_title", "rename",
           "set_archived", "move_to_trash", "restore", "delete_permanently", "purge_trash",
           "stats", "new_share_id"]
