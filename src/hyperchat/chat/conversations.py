"""What can happen to a conversation, shared by the HTML views and the JSON API."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise import connections
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from hyperchat.chat.rooms import account_id
from hyperchat.store.database import placeholder
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
    # One round trip, by hand (store/database.py:placeholder): the last frame of every reply
    # sends these. Each side is an aggregate without GROUP BY, so exactly one row (zeros
    # when there is none).
    mark = placeholder(1)
    row = (await connections.get("default").execute_query_dict(
        "SELECT c.total, c.trash, c.archived, m.messages, m.prompt, m.completion FROM "
        "(SELECT COUNT(*) AS total, COUNT(deleted_at) AS trash, "
        "COALESCE(SUM(CASE WHEN deleted_at IS NULL AND archived THEN 1 ELSE 0 END), 0) "
        f"AS archived FROM conversation WHERE owner = {mark}) AS c, "
        "(SELECT COUNT(*) AS messages, SUM(message.prompt_tokens) AS prompt, "
        "SUM(message.completion_tokens) AS completion FROM message "
        "JOIN conversation ON conversation.id = message.conversation_id "
        f"WHERE conversation.owner = {mark}) AS m", [owner]))[0]
    total, trash, archived = int(row["total"]), int(row["trash"]), int(row["archived"])
    prompt = int(row["prompt"] or 0)
    completion = int(row["completion"] or 0)
    return {
        "total": total,
        "active": total - trash - archived,
        "archived": archived,
        "trash": trash,
        "messages": int(row["messages"]),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
    }


__all__ = ["View", "owned_by", "kept", "message_counts", "title_from", "clean_title", "rename",
           "set_archived", "move_to_trash", "restore", "delete_permanently", "purge_trash",
           "stats", "new_share_id"]
