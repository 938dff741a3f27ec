"""The sidebar's list: one page of conversations with day groups, previews and relative times,
in a fixed number of queries whatever the page size (no query per conversation)."""

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from tortoise.functions import Max

from hyperchat.chat.conversations import View, owned_by
from hyperchat.store.schema import Conversation, Message

PAGE_SIZE = 30
PREVIEW_CHARS = 120
GROUPS = ("Today", "Yesterday", "Previous 7 days", "Older")


@dataclass
class Item:
    conversation: Conversation
    preview: str
    group: str
    when: str


@dataclass
class Page:
    items: list[Item]
    view: View
    page: int
    has_more: bool


def zone_named(name: str | None) -> tzinfo:
    """The person's time zone from its IANA name (the browser sends it in the `tz` cookie);
    UTC for a missing or unknown name."""
    if not name or len(name) > 64:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), or not a zone name
        return UTC


def group_of(moment: datetime, now: datetime, zone: tzinfo = UTC) -> str:
    """Today, Yesterday, ... by the calendar days of the person's time zone."""
    days = (now.astimezone(zone).date() - moment.astimezone(zone).date()).days
    if days <= 0:
        return GROUPS[0]
    if days == 1:
        return GROUPS[1]
    if days <= 7:
        return GROUPS[2]
    return GROUPS[3]


def relative_time(moment: datetime, now: datetime, zone: tzinfo = UTC) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        return f"{seconds // 86400} d ago"
    return moment.astimezone(zone).strftime("%d %b %Y")


async def previews(conversation_ids: list[int]) -> dict[int, str]:
    """The latest message of each conversation, one line: two queries for the whole page."""
    if not conversation_ids:
        return {}
    latest = await Message.filter(conversation_id__in=conversation_ids, on_path=True,
                                  deleted_at=None).annotate(
        last=Max("id")).group_by("conversation_id").values_list("last", flat=True)
    rows = await Message.filter(id__in=list(latest)).values_list("conversation_id", "content")
    return {cid: " ".join(content.split())[:PREVIEW_CHARS] for cid, content in rows}


async def load_page(owner: str, view: View, page: int = 1, zone: tzinfo = UTC) -> Page:
    offset = (page - 1) * PAGE_SIZE
    # One extra row tells whether another page follows.
    rows = await owned_by(owner, view).offset(offset).limit(PAGE_SIZE + 1)
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    texts = await previews([c.id for c in rows])
    now = datetime.now(UTC)
    items = [Item(c, texts.get(c.id, ""), group_of(c.last_activity_at, now, zone),
                  relative_time(c.last_activity_at, now, zone)) for c in rows]
    return Page(items=items, view=view, page=page, has_more=has_more)

